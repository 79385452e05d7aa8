"""`make deploy`'s last step: the console's files and a config.json into the stack's console bucket.

The stack's outputs say where (ConsoleBucket, ConsoleDistributionId) and what the console must know
(ApiUrl, CognitoDomain, UserPoolClientId, ConsoleUrl); the files are console/ as it is in the
repository. Objects the console no longer has are deleted, then the distribution is invalidated,
so the next page load gets the new files. A stack without a console (EnableConsole=false, or an
external JwtIssuer) has nothing to upload: that is said, and is not an error.

    python -m claude_tasks_dev.deploy_console [--stack-name NAME] [--region REGION]

Without --stack-name, samconfig.toml's (what `sam deploy --guided` saved) is used.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
SAMCONFIG = ROOT / "samconfig.toml"
CONFIG_KEY = "config.json"
SCOPES = ("openid", "email")
# index.html and config.json name everything else: they are revalidated on every load. The other files
# have no content hash in their names, so they are cached briefly, and each deploy invalidates them.
NO_CACHE = "no-cache"
SHORT_CACHE = "public, max-age=300"
# mimetypes' answers differ between platforms for these; browsers run a module only as JavaScript.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}


class ConsoleNotHosted(Exception):
    """The stack has no console bucket: nothing to upload."""


@dataclass(frozen=True)
class ConsoleFile:
    key: str
    path: Path
    content_type: str
    cache_control: str


def console_config(outputs: Mapping[str, str]) -> dict[str, Any]:
    """The console's config.json (the contract in docs: api_url, and Cognito's managed login with PKCE).

    `api_url` has no trailing slash: the console appends paths that start with one. The redirect URI is
    the console's URL exactly as the user pool client's callback URL lists it.
    """
    missing = [key for key in ("ApiUrl", "ConsoleUrl", "CognitoDomain", "UserPoolClientId") if not outputs.get(key)]
    if "ConsoleBucket" not in outputs:
        raise ConsoleNotHosted("the stack hosts no console (EnableConsole=false, or JwtIssuer names another issuer)")
    if missing:
        raise ValueError(f"the stack's outputs lack {', '.join(missing)}: is it deployed from this template?")
    return {
        "api_url": outputs["ApiUrl"].rstrip("/"),
        "auth": {
            "kind": "cognito",
            "domain": outputs["CognitoDomain"].rstrip("/"),
            "client_id": outputs["UserPoolClientId"],
            "redirect_uri": outputs["ConsoleUrl"],
            "scopes": list(SCOPES),
        },
    }


def console_files(root: Path = CONSOLE) -> list[ConsoleFile]:
    """The files to upload, keyed by their path under `root`: hidden files and any local config.json left out
    (the uploaded config.json is always the one made from the stack)."""
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root} has no index.html: is this the repository's console/?")
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or relative.as_posix() == CONFIG_KEY:
            continue
        files.append(
            ConsoleFile(
                key=relative.as_posix(),
                path=path,
                content_type=_content_type(path),
                cache_control=NO_CACHE if relative.as_posix() == "index.html" else SHORT_CACHE,
            )
        )
    return files


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def upload(s3: Any, bucket: str, files: Sequence[ConsoleFile], config: Mapping[str, Any]) -> list[str]:
    """Put `files` and config.json into `bucket`, then delete every other object. Returns the deleted keys."""
    for file in files:
        s3.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=file.path.read_bytes(),
            ContentType=file.content_type,
            CacheControl=file.cache_control,
        )
    s3.put_object(
        Bucket=bucket,
        Key=CONFIG_KEY,
        Body=json.dumps(config, indent=2).encode(),
        ContentType=CONTENT_TYPES[".json"],
        CacheControl=NO_CACHE,
    )
    kept = {file.key for file in files} | {CONFIG_KEY}
    stale = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
        if item["Key"] not in kept
    ]
    for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1,000 keys
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale[start : start + 1000]]})
    return stale


def invalidate(cloudfront: Any, distribution_id: str) -> str:
    """Invalidate every path of the distribution; returns the invalidation's id."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"deploy-{time.time_ns()}"},
    )
    return str(answer["Invalidation"]["Id"])


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def samconfig_deploy_parameters(path: Path = SAMCONFIG) -> dict[str, Any]:
    """`[default.deploy.parameters]` of samconfig.toml (stack_name, region), or nothing without the file."""
    if not path.is_file():
        return {}
    parameters = tomllib.loads(path.read_text()).get("default", {}).get("deploy", {}).get("parameters", {})
    return dict(parameters)


def deploy(outputs: Mapping[str, str], s3: Any, cloudfront: Any, root: Path = CONSOLE) -> str:
    """Upload the console for a stack with `outputs` and invalidate its distribution; returns what was done."""
    config = console_config(outputs)
    files = console_files(root)
    deleted = upload(s3, outputs["ConsoleBucket"], files, config)
    invalidation = invalidate(cloudfront, outputs["ConsoleDistributionId"])
    return (
        f"console: {len(files)} files and config.json to s3://{outputs['ConsoleBucket']}"
        f" ({len(deleted)} stale deleted), invalidation {invalidation}; open {outputs['ConsoleUrl']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_console", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", help="the stack (default: samconfig.toml's stack_name)")
    parser.add_argument("--region", help="its region (default: samconfig.toml's, else the AWS default)")
    args = parser.parse_args(argv)
    saved = samconfig_deploy_parameters()
    stack_name = args.stack_name or saved.get("stack_name")
    if not stack_name:
        parser.error("no --stack-name, and no samconfig.toml with one (run `make deploy` once)")
    import boto3  # deferred: --help and the tests of the pure parts need no AWS SDK

    session = boto3.session.Session(region_name=args.region or saved.get("region"))
    try:
        outputs = stack_outputs(session.client("cloudformation"), stack_name)
        print(deploy(outputs, session.client("s3"), session.client("cloudfront")))
    except ConsoleNotHosted as absent:
        print(f"console: not uploaded: {absent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
