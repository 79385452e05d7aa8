"""The console's AWS sign-in (authorization code + PKCE against Cognito's managed login) in Chromium.

Cognito's hosted pages cannot run here, so the browser's requests to its domain are answered by the test,
which checks what a real authorization server checks: the PKCE challenge is the S256 of the verifier, the
state round-trips, and the code is exchanged once. The API behind is the real local stack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import expect

from tests.e2e.local_stack import RunningStack

DOMAIN = "https://claude-tasks.auth.us-east-1.amazoncognito.com"
CLIENT_ID = "console-client"
USER = "cognito-user-1"  # the local gateway takes the access token as the principal


def test_cognito_sign_in_uses_pkce_keeps_the_place_and_stores_no_token(page: Any, stack: RunningStack) -> None:
    # Given a console configured for Cognito, and a managed login that signs the user in at once
    redirect_uri = f"{stack.api_url}/"
    config = {
        "api_url": "",
        "auth": {"kind": "cognito", "domain": DOMAIN, "client_id": CLIENT_ID, "redirect_uri": redirect_uri,
                 "scopes": ["openid", "email"]},
    }  # fmt: skip
    seen: dict[str, Any] = {}
    page.route("**/config.json", lambda route: route.fulfill(json=config))

    def authorize(route: Any) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        seen["authorize"] = query
        back = f"{redirect_uri}?{urlencode({'code': 'code-123', 'state': query['state']})}"
        route.fulfill(status=302, headers={"location": back})

    def token(route: Any) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen.setdefault("token", []).append(form)
        body = {"access_token": USER, "id_token": "unused", "token_type": "Bearer", "expires_in": 3600}
        route.fulfill(json=body, headers={"access-control-allow-origin": stack.api_url})

    page.route(f"{DOMAIN}/oauth2/authorize*", authorize)
    page.route(f"{DOMAIN}/oauth2/token", token)
    # When the user opens the admin page, is sent to sign in, and signs in with Cognito
    page.goto("about:blank")  # a fresh load, so the console reads this config
    page.goto("/#/admin")
    page.get_by_role("button", name="Sign in with Cognito").click()
    # Then they are back on the admin page, signed in as the token's principal
    expect(page.get_by_text(f"Signed in as {USER}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/#/admin$"))
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    # And the flow was the authorization code with PKCE (S256), the code exchanged once with its verifier
    asked = seen["authorize"]
    assert (asked["response_type"], asked["client_id"], asked["redirect_uri"]) == ("code", CLIENT_ID, redirect_uri)
    assert asked["code_challenge_method"] == "S256" and asked["scope"] == "openid email"
    [exchange] = seen["token"]
    digest = hashlib.sha256(exchange["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == asked["code_challenge"]
    assert (exchange["grant_type"], exchange["code"]) == ("authorization_code", "code-123")
    # And no token is kept in the browser's storage, nor the code in the address
    stored = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert USER not in stored and json.loads(stored) == [[], []]
    assert "code=" not in page.url
