"""The Claude backends: the real anthropic SDK against a local stub, Bedrock through Stubber, offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from claude_tasks.claude import ClaudeRequest, FatalClaudeError, RetryableClaudeError, Turn, clear_backends, get_backend
from claude_tasks.claude.anthropic_backend import AnthropicBackend
from claude_tasks.claude.bedrock_backend import BedrockBackend
from claude_tasks.claude.offline import OfflineBackend
from claude_tasks.claude.pricing import cost_usd, price_for
from claude_tasks.core import clients as aws
from claude_tasks.core.config import Settings
from claude_tasks.core.records import Usage
from tests.support.anthropic_stub import AnthropicStub, Hang, HttpError, MidStreamError, Reply

SECRET_ID = "test/anthropic-api-key"
API_KEY = "sk-ant-test-key"
REQUEST = ClaudeRequest(
    conversation=[
        Turn("user", "What is 2 + 2?"),
        Turn("assistant", "4."),
        Turn("user", "And times 3?"),
    ],
    model="claude-sonnet-4-6",
    system="Answer briefly.",
    max_tokens=256,
    claude_session_id="7b0c2d9e-3f1a-4c55-9d7e-0a1b2c3d4e5f",
)

AnthropicFactory = Callable[..., AnthropicBackend]


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as server:
        yield server


@pytest.fixture
def secrets() -> Iterator[Any]:
    """Secrets Manager in moto, holding the API key as a plain string."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name=SECRET_ID, SecretString=API_KEY)
        yield client


@pytest.fixture
def make_anthropic(stub: AnthropicStub, secrets: Any) -> AnthropicFactory:
    """Backends pointed at the stub: `make_anthropic(timeout_s=0.5, max_retries=0)`."""

    def make(timeout_s: float = 5.0, max_retries: int = 2) -> AnthropicBackend:
        settings = Settings(
            anthropic_base_url=stub.url,
            anthropic_secret_id=SECRET_ID,
            claude_timeout_s=timeout_s,
            aws_endpoint_url=None,
            region="us-east-1",
        )
        return AnthropicBackend(settings, max_retries=max_retries)

    return make


def test_anthropic_reply_carries_text_usage_stop_reason_and_cost(
    stub: AnthropicStub, make_anthropic: AnthropicFactory
) -> None:
    # Given a reply that used the prompt cache
    stub.script(
        Reply(
            text="Twelve.",
            input_tokens=100,
            output_tokens=50,
            cache_creation_input_tokens=10,
            cache_read_input_tokens=20,
        )
    )
    # When the backend answers
    reply = make_anthropic().complete(REQUEST)
    # Then the reply maps every field and prices the usage as Sonnet
    usage = Usage(input_tokens=100, output_tokens=50, cache_creation_input_tokens=10, cache_read_input_tokens=20)
    assert (reply.content, reply.stop_reason, reply.model) == ("Twelve.", "end_turn", "claude-sonnet-4-6")
    assert reply.usage == usage
    assert reply.cost_usd == pytest.approx((100 * 3 + 50 * 15 + 10 * 3.75 + 20 * 0.30) / 1e6)
    assert reply.claude_session_id == REQUEST.claude_session_id
    assert reply.duration_ms >= 0
    # And the whole conversation was streamed with the key from Secrets Manager
    (sent,) = stub.requests
    assert sent.api_key == API_KEY
    assert sent.body["stream"] is True
    assert sent.body["model"] == "claude-sonnet-4-6"
    assert sent.body["system"] == "Answer briefly."
    assert sent.body["max_tokens"] == 256
    assert sent.body["messages"] == [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "And times 3?"},
    ]


def test_anthropic_rate_limit_is_retried_by_the_sdk(stub: AnthropicStub, make_anthropic: AnthropicFactory) -> None:
    # Given one 429 before the answer
    stub.script(HttpError(429, "rate_limit_error"), Reply(text="ok"))
    # When the backend answers
    reply = make_anthropic().complete(REQUEST)
    # Then the SDK retried and the answer arrived
    assert reply.content == "ok"
    assert len(stub.requests) == 2


def test_anthropic_overload_past_the_sdk_retries_is_retryable(
    stub: AnthropicStub, make_anthropic: AnthropicFactory
) -> None:
    # Given 529 on the first attempt and both SDK retries
    stub.script(*[HttpError(529, "overloaded_error", "Overloaded")] * 3)
    # When / Then the backend gives up with a retryable error naming the overload
    with pytest.raises(RetryableClaudeError, match="529 overloaded_error") as caught:
        make_anthropic(max_retries=2).complete(REQUEST)
    assert caught.value.retryable is True
    assert len(stub.requests) == 3


def test_anthropic_overload_mid_stream_is_retried_by_us(stub: AnthropicStub, make_anthropic: AnthropicFactory) -> None:
    # Given a stream that breaks off with an overloaded_error event, then a good one
    stub.script(MidStreamError("overloaded_error"), Reply(text="second time lucky"))
    # When the backend answers
    reply = make_anthropic().complete(REQUEST)
    # Then only the complete second reply counts
    assert reply.content == "second time lucky"
    assert len(stub.requests) == 2


def test_anthropic_overload_mid_stream_every_time_is_retryable(
    stub: AnthropicStub, make_anthropic: AnthropicFactory
) -> None:
    # Given streams that always break off
    stub.script(*[MidStreamError("overloaded_error")] * 5)
    # When / Then our retries are bounded and end in a retryable error
    with pytest.raises(RetryableClaudeError, match="stream error overloaded_error"):
        make_anthropic().complete(REQUEST)
    assert len(stub.requests) == 3


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (422, "invalid_request_error"),
    ],
)
def test_anthropic_client_errors_are_fatal_and_not_retried(
    stub: AnthropicStub, make_anthropic: AnthropicFactory, status: int, error_type: str
) -> None:
    # Given a request the API rejects
    stub.script(HttpError(status, error_type, "prompt is too long"))
    # When / Then the error is fatal, says why, and was sent once
    with pytest.raises(FatalClaudeError, match=f"HTTP {status} {error_type}: prompt is too long") as caught:
        make_anthropic().complete(REQUEST)
    assert caught.value.retryable is False
    assert "request-id req_stub_0" in caught.value.reason
    assert len(stub.requests) == 1


def test_anthropic_refusal_is_fatal(stub: AnthropicStub, make_anthropic: AnthropicFactory) -> None:
    # Given Claude declines
    stub.script(Reply(text="", stop_reason="refusal"))
    # When / Then the task cannot succeed by retrying
    with pytest.raises(FatalClaudeError, match="refusal"):
        make_anthropic().complete(REQUEST)


def test_anthropic_timeout_is_retryable(stub: AnthropicStub, make_anthropic: AnthropicFactory) -> None:
    # Given a server that never answers within the client's timeout
    stub.script(Hang(10), Hang(10))
    # When / Then the timeout (after one SDK retry) is retryable
    with pytest.raises(RetryableClaudeError, match="APITimeoutError"):
        make_anthropic(timeout_s=0.3, max_retries=1).complete(REQUEST)
    assert len(stub.requests) == 2


def _due_in(seconds: float) -> ClaudeRequest:
    return replace(REQUEST, deadline=time.monotonic() + seconds)


def test_anthropic_deadline_bounds_the_whole_call_across_sdk_retries(
    stub: AnthropicStub, make_anthropic: AnthropicFactory
) -> None:
    # Given a server that never answers, a 5 s read timeout and two SDK retries (15 s and more in all)
    stub.script(*[Hang(10)] * 3)
    # When a call due in 0.5 s runs out of time
    with pytest.raises(RetryableClaudeError, match="the call's overall deadline") as raised:
        make_anthropic(timeout_s=5.0, max_retries=2).complete(_due_in(0.5))
    # Then it ended at the deadline, not after the read timeout: no retry was ever sent, and the
    # budget it reports is what was left of the 0.5 s (less on a loaded machine, never more)
    assert len(stub.requests) <= 1
    budget = float(re.search(r"after ([0-9.]+) s", str(raised.value)).group(1))  # type: ignore[union-attr]
    assert 0 < budget <= 0.5


def test_anthropic_mid_stream_retries_stop_at_the_deadline(
    stub: AnthropicStub, make_anthropic: AnthropicFactory
) -> None:
    # Given streams that always break off, and a call due before our first back-off ends
    stub.script(*[MidStreamError("overloaded_error")] * 5)
    # When the call runs out of time
    with pytest.raises(RetryableClaudeError, match="timed out"):
        make_anthropic().complete(_due_in(0.3))
    # Then no stream was started after the deadline
    time.sleep(0.5)
    assert len(stub.requests) == 1


def test_anthropic_call_past_its_deadline_sends_nothing(stub: AnthropicStub, make_anthropic: AnthropicFactory) -> None:
    # Given / When / Then a call whose deadline already passed is retryable and never reaches the API
    with pytest.raises(RetryableClaudeError, match="timed out"):
        make_anthropic().complete(_due_in(-1.0))
    assert stub.requests == []


def test_anthropic_key_may_be_stored_as_json(
    stub: AnthropicStub, make_anthropic: AnthropicFactory, secrets: Any
) -> None:
    # Given the secret holds JSON rather than the raw key
    secrets.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"api_key": "sk-from-json"}))
    # When the backend answers
    make_anthropic().complete(REQUEST)
    # Then the key inside the JSON was sent
    assert stub.requests[0].api_key == "sk-from-json"


@pytest.mark.parametrize("secret_value", ["   ", json.dumps({"key": "wrong-field"})])
def test_anthropic_unusable_secret_is_fatal(
    stub: AnthropicStub, make_anthropic: AnthropicFactory, secrets: Any, secret_value: str
) -> None:
    # Given a secret with no key in it
    secrets.put_secret_value(SecretId=SECRET_ID, SecretString=secret_value)
    # When / Then nothing is sent and the error says what to fix
    with pytest.raises(FatalClaudeError, match="holds no API key"):
        make_anthropic().complete(REQUEST)
    assert stub.requests == []


def test_anthropic_placeholder_secret_is_never_sent(
    stub: AnthropicStub, make_anthropic: AnthropicFactory, secrets: Any
) -> None:
    # Given a deployment whose secret still holds the placeholder a stack without a key stores
    secrets.put_secret_value(SecretId=SECRET_ID, SecretString="not-set")
    # When / Then the task fails at once saying how to configure a key, and nothing reaches Anthropic
    with pytest.raises(FatalClaudeError, match="no API key is configured.*put-secret-value"):
        make_anthropic().complete(REQUEST)
    assert stub.requests == []


def test_anthropic_missing_secret_is_fatal(make_anthropic: AnthropicFactory, secrets: Any) -> None:
    # Given the secret does not exist
    secrets.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)
    # When / Then the backend reports a configuration error that retrying cannot fix
    with pytest.raises(FatalClaudeError, match="cannot read the API key secret"):
        make_anthropic().complete(REQUEST)


@pytest.fixture
def bedrock() -> Iterator[tuple[BedrockBackend, Stubber]]:
    backend = BedrockBackend(Settings(region="us-east-1", aws_endpoint_url=None))
    with Stubber(backend.client) as stubber:
        yield backend, stubber
        stubber.assert_no_pending_responses()


def test_bedrock_converse_reply_is_mapped(bedrock: tuple[BedrockBackend, Stubber]) -> None:
    # Given Converse answers with cache usage
    backend, stubber = bedrock
    model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    response = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Twelve."}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": 100,
            "outputTokens": 50,
            "totalTokens": 180,
            "cacheReadInputTokens": 20,
            "cacheWriteInputTokens": 10,
        },
        "metrics": {"latencyMs": 42},
    }
    expected = {
        "modelId": model,
        "messages": [{"role": t.role, "content": [{"text": t.content}]} for t in REQUEST.conversation],
        "system": [{"text": "Answer briefly."}],
        "inferenceConfig": {"maxTokens": 256},
    }
    stubber.add_response("converse", response, expected)
    # When the backend answers
    reply = backend.complete(ClaudeRequest(**{**REQUEST.__dict__, "model": model}))
    # Then text, usage, stop reason and Haiku pricing come through
    assert (reply.content, reply.stop_reason, reply.model) == ("Twelve.", "end_turn", model)
    assert reply.usage == Usage(
        input_tokens=100, output_tokens=50, cache_creation_input_tokens=10, cache_read_input_tokens=20
    )
    assert reply.cost_usd == pytest.approx((100 * 1 + 50 * 5 + 10 * 1.25 + 20 * 0.10) / 1e6)
    assert reply.claude_session_id == REQUEST.claude_session_id


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 429, RetryableClaudeError),
        ("ServiceUnavailableException", 503, RetryableClaudeError),
        ("ModelTimeoutException", 408, RetryableClaudeError),
        ("ValidationException", 400, FatalClaudeError),
        ("AccessDeniedException", 403, FatalClaudeError),
    ],
)
def test_bedrock_errors_are_classified(
    bedrock: tuple[BedrockBackend, Stubber], code: str, status: int, error: type[Exception]
) -> None:
    # Given Converse fails with `code`
    backend, stubber = bedrock
    stubber.add_client_error("converse", service_error_code=code, service_message="boom", http_status_code=status)
    # When / Then the error has the right retryability and names the code
    with pytest.raises(error, match=f"bedrock {code}: boom"):
        backend.complete(REQUEST)


def test_bedrock_call_past_its_deadline_is_retryable_and_not_sent(bedrock: tuple[BedrockBackend, Stubber]) -> None:
    # Given / When / Then (the Stubber holds no response: a sent call would fail otherwise)
    backend, _ = bedrock
    with pytest.raises(RetryableClaudeError, match="bedrock: timed out"):
        backend.complete(_due_in(-1.0))


def test_bedrock_client_bounds_one_call_by_claudes_timeout() -> None:
    # Given a 40 s Claude timeout
    backend = BedrockBackend(Settings(region="us-east-1", aws_endpoint_url=None, claude_timeout_s=40))
    # When its client is built
    config = backend.client.meta.config
    # Then a read waits at most that long, and botocore tries the call at most twice
    assert (config.read_timeout, config.connect_timeout) == (40, 5)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_backends_make_their_aws_clients_through_the_shared_factory(
    stub: AnthropicStub, make_anthropic: AnthropicFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the service's client factory (thread-safe: it holds a lock), watched
    made: list[str] = []

    def watched(service: str, settings: Settings, config: Config | None = None) -> Any:
        made.append(service)
        return aws.make_client(service, settings, config=config)

    monkeypatch.setattr("claude_tasks.claude.api_key.make_client", watched)
    monkeypatch.setattr("claude_tasks.claude.bedrock_backend.make_client", watched)
    # When each backend builds its clients
    make_anthropic().complete(REQUEST)
    client = BedrockBackend(Settings(region="us-east-1", aws_endpoint_url=None, claude_timeout_s=40)).client
    # Then both went through it, and the factory kept Bedrock's own configuration
    assert made == ["secretsmanager", "bedrock-runtime"]
    assert client.meta.config.read_timeout == 40


def test_offline_is_deterministic_free_and_says_it_is_offline() -> None:
    # Given the offline model
    backend = OfflineBackend()
    # When it answers the same request twice
    first, second = backend.complete(REQUEST), backend.complete(REQUEST)
    # Then both replies are identical, free, and say plainly that Claude was not asked
    assert (first.content, first.usage) == (second.content, second.usage)
    assert first.content.startswith("[offline model] ")
    assert "offline model, not Claude" in first.content
    assert "And times 3?" in first.content
    assert (first.stop_reason, first.cost_usd, first.model) == ("end_turn", 0.0, "offline")
    assert first.usage.input_tokens == 2 + 5 + 1 + 3  # words of system + conversation
    assert first.claude_session_id == REQUEST.claude_session_id


def test_offline_digest_changes_with_the_prompt() -> None:
    # Given two requests that differ only in the last prompt
    other = ClaudeRequest(**{**REQUEST.__dict__, "conversation": [Turn("user", "Something else")]})
    # When / Then their replies differ
    assert OfflineBackend().complete(REQUEST).content != OfflineBackend().complete(other).content


def test_get_backend_caches_one_instance_per_name() -> None:
    # Given no backend built yet
    clear_backends()
    settings = Settings(aws_endpoint_url=None)
    # When each backend is asked for twice, in any case
    first, second = get_backend("offline", settings), get_backend(" Offline ", settings)
    # Then each name is one instance of its own class, built without any network call
    assert first is second and isinstance(first, OfflineBackend)
    assert isinstance(get_backend("anthropic", settings), AnthropicBackend)
    assert get_backend("bedrock", settings) is get_backend("BEDROCK", settings)
    clear_backends()


def test_get_backend_rejects_an_unknown_name() -> None:
    # Given / When / Then a task naming an unknown backend fails for good
    with pytest.raises(FatalClaudeError, match="unknown Claude backend 'gpt'"):
        get_backend("gpt", Settings(aws_endpoint_url=None))


def test_importing_the_package_does_not_import_anthropic() -> None:
    # Given a fresh interpreter
    code = (
        "import sys; from claude_tasks.claude import get_backend; from claude_tasks.core.config import Settings; "
        "get_backend('offline', Settings()); print('anthropic' in sys.modules, 'boto3' in sys.modules)"
    )
    # When it imports the package and selects the offline backend
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    # Then neither the anthropic SDK nor boto3 was imported
    assert result.stdout.split() == ["False", "False"]


def test_request_must_end_with_a_user_turn() -> None:
    # Given / When / Then a conversation ending with Claude's turn is rejected at once
    with pytest.raises(ValueError, match="must end with the user turn"):
        ClaudeRequest(**{**REQUEST.__dict__, "conversation": [Turn("user", "a"), Turn("assistant", "b")]})


@pytest.mark.parametrize(
    ("model", "input_price"),
    [
        ("claude-opus-4-7", 5.0),
        ("claude-opus-4-1-20250805", 15.0),
        ("claude-opus-4-20250514", 15.0),
        ("claude-opus-5-5", 4.0),
        ("claude-sonnet-5-5", 2.0),
        ("claude-fable-5-1", 10.0),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0),
        ("claude-haiku-4-5", 1.0),
        ("some-future-model", 3.0),
    ],
)
def test_prices_go_by_family_and_unknown_models_cost_as_sonnet(model: str, input_price: float) -> None:
    # Given / When / Then
    assert price_for(model).input == input_price
    assert cost_usd(model, Usage(input_tokens=1_000_000)) == pytest.approx(input_price)
