"""The local gateway's console files: only `/`, `/config.json` and `/assets/...`, never outside console/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tasks_dev.local.console import ConsoleFiles


@pytest.fixture
def console(tmp_path: Path) -> ConsoleFiles:
    root = tmp_path / "console"
    (root / "assets" / "pages").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>console</title>")
    (root / "assets" / "app.js").write_text("export {};")
    (root / "assets" / "pages" / "task.js").write_text("export {};")
    (tmp_path / "secret.txt").write_text("not for the browser")
    return ConsoleFiles(root)


def test_the_start_page_its_assets_and_the_local_config_are_served(console: ConsoleFiles) -> None:
    # When the console's paths are asked for
    index, script, nested = (
        console.reply("GET", "/"),
        console.reply("GET", "/assets/app.js"),
        console.reply("GET", "/assets/pages/task.js"),
    )
    config = console.reply("GET", "/config.json")
    # Then each comes with its type and a policy that allows no inline or foreign script
    assert index is not None and index.status == 200 and b"<title>console</title>" in index.body
    assert script is not None and nested is not None and nested.status == 200
    assert ("content-type", "text/javascript; charset=utf-8") in script.headers
    assert any(name == "content-security-policy" and "script-src 'self';" in v for name, v in script.headers)
    assert config is not None and json.loads(config.body) == {"api_url": "", "auth": {"kind": "local"}}


@pytest.mark.parametrize("path", ["/sessions", "/openapi.json", "/assetsx/app.js", "/index.js"])
def test_other_paths_are_left_to_the_api(console: ConsoleFiles, path: str) -> None:
    # Then: None, so the gateway answers as API Gateway would (404 for a path no route has)
    assert console.reply("GET", path) is None


@pytest.mark.parametrize("path", ["/assets/../../secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets/.hidden"])
def test_nothing_outside_the_assets_is_served(console: ConsoleFiles, path: str) -> None:
    reply = console.reply("GET", path)
    assert reply is None or (reply.status == 404 and b"not for the browser" not in reply.body)


def test_only_reads_are_served_and_head_has_no_body(console: ConsoleFiles) -> None:
    assert console.reply("POST", "/") is None
    head = console.reply("HEAD", "/assets/app.js")
    assert head is not None and head.status == 200 and head.body == b""
