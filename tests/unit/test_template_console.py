"""The console's hosting in template.yaml (EnableConsole): a private bucket read only by its CloudFront
distribution, a strict Content-Security-Policy, sign-in through the user pool's managed login with the
code flow and PKCE, and the outputs `make deploy` makes the console's config.json from.

Read as written, like tests/unit/test_template.py.
"""

from __future__ import annotations

import re
from typing import Any

from claude_tasks_dev.deploy_console import SCOPES
from tests.unit.test_template import _resource

NO_VALUE = {"Ref": "AWS::NoValue"}
CONSOLE_URL = {"Fn::Sub": "https://${ConsoleDistribution.DomainName}/"}
CONSOLE_RESOURCES = {
    "ConsoleBucket",
    "ConsoleBucketPolicy",
    "ConsoleOriginAccessControl",
    "ConsoleResponseHeadersPolicy",
    "ConsoleDistribution",
    "ConsoleUserPoolDomain",
    "ConsoleManagedLoginBranding",
}
# What deploy_console reads from the stack.
OUTPUTS = {"ConsoleUrl", "ConsoleBucket", "ConsoleDistributionId", "CognitoDomain", "UserPoolClientId", "ApiUrl"}


def _csp(template: dict[str, Any]) -> dict[str, list[str]]:
    """The policy's directives: name -> sources (the `${…}` of its Fn::Sub left as written)."""
    config = _resource(template, "ConsoleResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    text = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = [d.split() for d in text.split(";") if d.strip()]
    return {name: sources for name, *sources in directives}


def test_the_console_is_on_by_default_and_only_with_the_templates_user_pool(template: dict[str, Any]) -> None:
    # Given the parameter and the condition every console resource carries
    assert template["Parameters"]["EnableConsole"]["Default"] == "true"
    assert template["Conditions"]["HostConsole"] == {
        "Fn::And": [{"Condition": "EnableConsole"}, {"Condition": "CreateUserPool"}]
    }

    # Then each console resource exists only under it (an external issuer has no managed login here)
    resources = template["Resources"]
    assert {name: resources[name].get("Condition") for name in CONSOLE_RESOURCES} == dict.fromkeys(
        CONSOLE_RESOURCES, "HostConsole"
    )


def test_the_bucket_is_private_and_read_only_by_the_distribution(template: dict[str, Any]) -> None:
    # When the bucket and its policy are read
    bucket = _resource(template, "ConsoleBucket")
    statements = {s["Sid"]: s for s in _resource(template, "ConsoleBucketPolicy")["PolicyDocument"]["Statement"]}

    # Then nothing is public, versions are kept, plain HTTP is refused, and CloudFront reads objects
    # only on behalf of this distribution (origin access control, the distribution's ARN in the condition)
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    reads = statements["ConsoleDistributionReads"]
    assert (reads["Principal"], reads["Action"]) == ({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject")
    assert reads["Resource"] == {"Fn::Sub": "${ConsoleBucket.Arn}/*"}
    assert "distribution/${ConsoleDistribution}" in reads["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    access = _resource(template, "ConsoleOriginAccessControl")["OriginAccessControlConfig"]
    assert (access["OriginAccessControlOriginType"], access["SigningBehavior"]) == ("s3", "always")


def test_the_distribution_serves_the_page_over_https_with_the_headers(template: dict[str, Any]) -> None:
    # When the distribution is read
    config = _resource(template, "ConsoleDistribution")["DistributionConfig"]
    (origin,) = config["Origins"]
    behaviour = config["DefaultCacheBehavior"]

    # Then it serves index.html at /, only over HTTPS, read-only, through the origin access control,
    # with the security headers on every answer
    assert config["DefaultRootObject"] == "index.html"
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "ConsoleResponseHeadersPolicy"}


def test_the_content_security_policy_allows_no_inline_script_and_fetches_only_the_api_and_sign_in(
    template: dict[str, Any],
) -> None:
    # When the policy is read
    csp = _csp(template)

    # Then scripts and styles come only from the console itself (no inline, no eval, nothing elsewhere),
    # and it may fetch only itself, the region's HTTP APIs and the pool's managed login domain
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert not any("unsafe" in source for sources in csp.values() for source in sources)
    assert csp["connect-src"] == [
        "'self'",
        "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        "https://${ConsoleUserPoolDomain}.auth.${AWS::Region}.amazoncognito.com",
    ]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]


def test_the_app_client_signs_in_with_the_code_flow_and_pkce_back_to_the_console(template: dict[str, Any]) -> None:
    # When the app client is read
    client = _resource(template, "UserPoolClient")

    # Then, with the console, it is a public client (PKCE, no secret) using the code flow, the scopes the
    # console asks for, and the console's URL as its only callback and sign-out URL; without it, no OAuth
    assert client["GenerateSecret"] is False
    for key, value in {
        "AllowedOAuthFlowsUserPoolClient": True,
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": list(SCOPES),
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": [CONSOLE_URL],
        "LogoutURLs": [CONSOLE_URL],
    }.items():
        assert client[key] == {"Fn::If": ["HostConsole", value, NO_VALUE]}, key
    domain = _resource(template, "ConsoleUserPoolDomain")
    assert domain["ManagedLoginVersion"] == 2
    assert domain["UserPoolId"] == {"Ref": "UserPool"}


def test_the_default_domain_prefix_is_the_stacks_unique_id(template: dict[str, Any]) -> None:
    # When the domain prefix is read
    condition, given, derived = _resource(template, "ConsoleUserPoolDomain")["Domain"]["Fn::If"]

    # Then a given prefix is used, else one from the stack's id (lower-case and unique, as Cognito needs)
    assert (condition, given) == ("HasCognitoDomainPrefix", {"Ref": "CognitoDomainPrefix"})
    assert derived == {
        "Fn::Join": ["", ["claude-tasks-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]]
    }
    pattern = template["Parameters"]["CognitoDomainPrefix"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "claude-tasks-team")
    assert not re.fullmatch(pattern, "Claude_Tasks")


def test_the_api_lets_the_console_origin_call_it(template: dict[str, Any]) -> None:
    # When the HTTP API's CORS is read
    api = _resource(template, "HttpApi")
    condition, cors, absent = api["CorsConfiguration"]["Fn::If"]

    # Then it exists with any origin to allow, and the console's origin (its URL without the slash) is one
    assert (condition, absent) == ("HasCors", NO_VALUE)
    assert template["Conditions"]["HasCors"] == {
        "Fn::Or": [{"Condition": "HasCorsOrigins"}, {"Condition": "HostConsole"}]
    }
    hosted, _ = cors["AllowOrigins"]["Fn::If"][1:]
    console_only = hosted["Fn::If"][2]
    assert console_only == [{"Fn::Sub": "https://${ConsoleDistribution.DomainName}"}]
    assert "authorization" in cors["AllowHeaders"]


def test_the_outputs_hold_what_the_console_config_is_made_from(template: dict[str, Any]) -> None:
    # When the outputs are read
    outputs = template["Outputs"]

    # Then every one deploy_console reads is there, and the console's URL is the app client's callback
    assert OUTPUTS <= set(outputs)
    assert outputs["ConsoleUrl"]["Value"] == CONSOLE_URL
    assert {outputs[name]["Condition"] for name in OUTPUTS - {"ApiUrl", "UserPoolClientId"}} == {"HostConsole"}
