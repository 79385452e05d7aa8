"""The web console's files, served by the local gateway next to the API, as CloudFront serves them in AWS.

Only `/`, `/config.json` and `/assets/...` are static, and only where no API route
matches: the API keeps every route it has. `config.json` is made here, not read:
locally the console signs in with a name (`Bearer <name>`) and calls the API on
its own origin.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import Path

from claude_tasks_dev.checkout import repo_root
from claude_tasks_dev.local.apigw_reply import HttpResponse

LOCAL_CONFIG = {"api_url": "", "auth": {"kind": "local"}}
# The page loads only its own files and calls only its own origin (locally) or an https API (in AWS); no
# inline script, so text the model writes can never run even if it reached the DOM unescaped.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' https:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# An asset's name: no `..`, no hidden files, nothing outside console/assets.
_ASSET = re.compile(r"/assets/(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\Z")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


class ConsoleFiles:
    """The files of `root` (the checkout's `console/`): `reply(method, path)` answers, or None for the API."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def of_checkout(cls) -> ConsoleFiles | None:
        """The checkout's console, or None where there is none (an installed package)."""
        try:
            folder = repo_root() / "console"
        except FileNotFoundError:
            return None
        return cls(folder) if (folder / "index.html").is_file() else None

    def reply(self, method: str, path: str) -> HttpResponse | None:
        """The file for a GET or HEAD of a console path; None for any other request (the API answers it)."""
        if method not in ("GET", "HEAD"):
            return None
        if path == "/config.json":
            return _response("application/json", json.dumps(LOCAL_CONFIG).encode(), method)
        if path in ("/", "/index.html"):
            file = self.root / "index.html"
        elif _ASSET.match(path):
            file = (self.root / path.lstrip("/")).resolve()
            if not file.is_relative_to(self.root / "assets") or not file.is_file():
                return _response("text/plain", b"Not Found", method, status=404)
        else:
            return None
        suffix = file.suffix.lower()
        kind = _TYPES.get(suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return _response(kind, file.read_bytes(), method)


def _response(kind: str, body: bytes, method: str, status: int = 200) -> HttpResponse:
    headers = [
        ("content-type", f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else kind),
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        # A developer editing console/ sees the change on reload.
        ("cache-control", "no-cache"),
        ("content-length", str(len(body))),
    ]
    return HttpResponse(status, headers, b"" if method == "HEAD" else body)
