"""`docs/task-event.schema.json`: the JSON Schema of a task event's `detail`, generated from `TaskEvent`.

`python -m claude_tasks_dev.event_schema` writes it; `--check` only says whether the committed file is
current (a unit test does the same).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from claude_tasks.core.events import TaskEvent
from claude_tasks_dev.checkout import repo_root

RELATIVE_PATH = "docs/task-event.schema.json"


def schema() -> dict[str, Any]:
    """The schema of the `detail` the bus carries (serialised as the events function sends it)."""
    body = _open(TaskEvent.model_json_schema(mode="serialization"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:claude-tasks:task-event",
        **body,
        "description": (
            "The `detail` of a Claude Task Server task event on its EventBridge bus: `source` is the service's "
            'name, `detail-type` is "Task " and the status capitalised ("Task Succeeded", "Task Deleted"). '
            + (body.get("description") or "")
            + " Fields may be added in later versions: ignore those you do not know."
        ).strip(),
    }


def _open(node: Any) -> Any:
    """The schema without `additionalProperties: false`: the code refuses unknown fields, a consumer must not."""
    if isinstance(node, dict):
        return {k: _open(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(node, list):
        return [_open(item) for item in node]
    return node


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    path = repo_root() / RELATIVE_PATH
    text = render()
    if "--check" in argv:
        if not path.is_file() or path.read_text() != text:
            print(f"{path} is out of date: run python -m claude_tasks_dev.event_schema", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
