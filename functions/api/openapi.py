"""The OpenAPI document: generated from the routes and models, served at GET /openapi.json,
committed as docs/openapi.json.

    python functions/api/openapi.py          # rewrite docs/openapi.json
    python functions/api/openapi.py --check  # exit 1 when the committed file drifted
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DESCRIPTION = (
    "Run Claude on tasks: open a session for a project, queue tasks (prompts) in it, and read back the "
    "interactions the worker writes. Every call but this document needs a JWT (`Authorization: Bearer ...`); "
    "errors are RFC 9457 `application/problem+json`, except 401, which API Gateway answers itself "
    '(`application/json` `{"message": "Unauthorized"}`).'
)


@cache
def document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """The document for `app`: responses in status order, without Powertools' unused default error schemas."""
    # Deferred: the models cost import time, and only this document needs them.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    raw = app.get_openapi_json_schema(
        title="Claude Task Server",
        version="1.0.0",
        description=DESCRIPTION,
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT")},
        security=[{"jwt": []}],
    )
    doc = json.loads(raw)
    for operations in doc["paths"].values():
        for operation in operations.values():
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return _without_unused_schemas(doc)


def render(app: APIGatewayHttpResolver) -> str:
    return json.dumps(document(app), indent=2) + "\n"


def _without_unused_schemas(doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc["components"]["schemas"]
    used: set[str] = set()
    pending = _refs(doc["paths"])
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending |= _refs(schemas.get(name, {}))
    doc["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in used}
    return doc


def _refs(node: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(node)))


def main(argv: list[str]) -> int:
    import app  # deferred: the entry point imports this module

    text = render(app.app)
    if "--check" in argv:
        if not COMMITTED.exists() or COMMITTED.read_text() != text:
            print(f"{COMMITTED} is out of date: run python functions/api/openapi.py", file=sys.stderr)
            return 1
        return 0
    COMMITTED.write_text(text)
    print(f"wrote {COMMITTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
