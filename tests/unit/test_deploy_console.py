"""`make deploy` uploads the console and a config.json made from the stack's outputs (deploy_console)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from claude_tasks_dev.deploy_console import (
    CONSOLE,
    ConsoleNotHosted,
    console_config,
    console_files,
    deploy,
    samconfig_deploy_parameters,
)

OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/",
    "ConsoleUrl": "https://d111111abcdef8.cloudfront.net/",
    "ConsoleBucket": "stack-consolebucket-1",
    "CognitoDomain": "https://claude-tasks-0f0e.auth.eu-west-1.amazoncognito.com",
    "UserPoolClientId": "4example5client6id",
}


@pytest.fixture
def console(tmp_path: Path) -> Path:
    """A console folder: the page, two assets, a hidden file and a local config.json (neither uploaded)."""
    root = tmp_path / "console"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>console</title>")
    (root / "assets" / "app.js").write_text("export {};")
    (root / "assets" / "style.css").write_text("body {}")
    (root / ".DS_Store").write_text("x")
    (root / "config.json").write_text('{"api_url": "", "auth": {"kind": "local"}}')
    return root


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, str]]:
    """moto's S3 with the console bucket (holding a stale file) and CloudFront with one distribution."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=OUTPUTS["ConsoleBucket"])
        s3.put_object(Bucket=OUTPUTS["ConsoleBucket"], Key="assets/old.js", Body=b"gone")
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "console",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "console-bucket",
                            "DomainName": f"{OUTPUTS['ConsoleBucket']}.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "console-bucket",
                    "ViewerProtocolPolicy": "https-only",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
            }
        )
        yield s3, cloudfront, distribution["Distribution"]["Id"]


def test_config_follows_the_contract_from_the_outputs() -> None:
    # When the config is made from a stack's outputs
    config = console_config(OUTPUTS)

    # Then the console calls the API without a doubled slash, and signs in with the pool's managed login,
    # coming back to exactly the URL the app client lists as its callback
    assert config == {
        "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com",
        "auth": {
            "kind": "cognito",
            "domain": "https://claude-tasks-0f0e.auth.eu-west-1.amazoncognito.com",
            "client_id": "4example5client6id",
            "redirect_uri": "https://d111111abcdef8.cloudfront.net/",
            "scopes": ["openid", "email"],
        },
    }


def test_a_stack_without_a_console_is_said_to_have_none() -> None:
    # Given the outputs of a stack deployed with EnableConsole=false
    outputs = {key: value for key, value in OUTPUTS.items() if key not in ("ConsoleBucket", "ConsoleUrl")}

    # Then there is nothing to upload, said as such
    with pytest.raises(ConsoleNotHosted):
        console_config(outputs)


def test_missing_outputs_are_named() -> None:
    # Given a console bucket but no managed login domain (not this template's stack)
    outputs = {key: value for key, value in OUTPUTS.items() if key != "CognitoDomain"}

    # Then the error names what is missing
    with pytest.raises(ValueError, match="CognitoDomain"):
        console_config(outputs)


def test_files_leave_out_hidden_files_and_a_local_config(console: Path) -> None:
    # When the files to upload are listed
    files = {file.key: file for file in console_files(console)}

    # Then they are the page and its assets, with types a browser runs and caching that revalidates the page
    assert sorted(files) == ["assets/app.js", "assets/style.css", "index.html"]
    assert files["assets/app.js"].content_type == "text/javascript; charset=utf-8"
    assert files["index.html"].content_type == "text/html; charset=utf-8"
    assert files["index.html"].cache_control == "no-cache"


def test_deploy_uploads_the_console_removes_stale_files_and_invalidates(
    console: Path, aws: tuple[Any, Any, str]
) -> None:
    # Given a bucket holding a file the console no longer has
    s3, cloudfront, distribution_id = aws

    # When the console is deployed
    said = deploy({**OUTPUTS, "ConsoleDistributionId": distribution_id}, s3, cloudfront, console)

    # Then the bucket holds exactly the console and its generated config, the stale file is gone,
    # and the distribution is invalidated
    bucket = OUTPUTS["ConsoleBucket"]
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["assets/app.js", "assets/style.css", "config.json", "index.html"]
    config = s3.get_object(Bucket=bucket, Key="config.json")
    assert json.loads(config["Body"].read()) == console_config(OUTPUTS)
    assert config["CacheControl"] == "no-cache"
    assert s3.head_object(Bucket=bucket, Key="assets/app.js")["ContentType"] == "text/javascript; charset=utf-8"
    invalidations = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    assert invalidations["Quantity"] == 1
    assert "1 stale deleted" in said and OUTPUTS["ConsoleUrl"] in said


def test_the_stack_name_comes_from_samconfig(tmp_path: Path) -> None:
    # Given what `sam deploy --guided` saves
    path = tmp_path / "samconfig.toml"
    path.write_text('version = 0.1\n[default.deploy.parameters]\nstack_name = "cts"\nregion = "eu-west-1"\n')

    # Then the stack and its region are read from it; without the file, nothing
    assert samconfig_deploy_parameters(path) == {"stack_name": "cts", "region": "eu-west-1"}
    assert samconfig_deploy_parameters(tmp_path / "absent.toml") == {}


@pytest.mark.skipif(not (CONSOLE / "index.html").is_file(), reason="console/ is not in this checkout yet")
def test_the_repository_console_uploads_as_it_is() -> None:
    # When the repository's own console is listed
    files = console_files()

    # Then its page is there and no file is sent as an unknown type
    assert "index.html" in {file.key for file in files}
    assert all(file.content_type != "application/octet-stream" for file in files), files
