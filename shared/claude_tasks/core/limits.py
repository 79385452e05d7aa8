"""Every input limit, in one place: the HTTP API's bodies, the `task.create` message and the worker use these.

Most exist because a task item holds what a caller sends under DynamoDB's 400 KB
item limit; the prompt's length in characters is configured (`MAX_PROMPT_CHARS`).
"""

from __future__ import annotations

from collections.abc import Callable

from claude_tasks.core.errors import PromptTooLarge, TooLarge

# A task item holds its prompt twice (`prompt` and `pending_prompts`) under DynamoDB's 400 KB item limit.
MAX_PROMPT_BYTES = 100_000
MAX_SYSTEM_BYTES = 50_000
MAX_MODEL_CHARS = 128
MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 200
MAX_REPLY_TOKENS = 128_000
MAX_METADATA_CHARS = 16_384
MAX_METADATA_DEPTH = 32
# Claude Code's options: a task item holds them, and the CLI takes the tool lists on its command line.
MAX_TOOL_RULES = 64
MAX_TOOL_RULE_CHARS = 256
MAX_MCP_SERVERS = 16
MAX_MCP_SERVER_NAME_CHARS = 64
MAX_MCP_SERVERS_CHARS = 16_384
# Where json.loads stops (RecursionError) depends on the Python version (3.11 near 1000 levels,
# 3.13 far deeper): a bound of our own gives every runtime the same answer.
MAX_BODY_DEPTH = 512


def check_prompt(prompt: str, max_chars: int) -> None:
    """Pass when `prompt` fits: at most `max_chars` characters and `MAX_PROMPT_BYTES` in UTF-8.

    Raises `PromptTooLarge` or `TooLarge` (both 413), saying the limit.
    """
    if len(prompt) > max_chars:
        raise PromptTooLarge(len(prompt), max_chars)
    size = len(prompt.encode())
    if size > MAX_PROMPT_BYTES:
        raise TooLarge("the prompt", size, MAX_PROMPT_BYTES)


def at_most_bytes(limit: int) -> Callable[[str], str]:
    """A pydantic validator: the text's UTF-8 size, not its length, counts toward the item's limit."""

    def check(value: str) -> str:
        if len(value.encode()) > limit:
            raise ValueError(f"must be at most {limit} bytes in UTF-8")
        return value

    return check


def depth(value: object, give_up_after: int | None = None) -> int:
    """How deeply `value` nests objects and arrays (a scalar: 0), found without recursion.

    With `give_up_after`, the walk stops at the first level past it (enough to refuse the value).
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if give_up_after is not None and level > give_up_after:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest
