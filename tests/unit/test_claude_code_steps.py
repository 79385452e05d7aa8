"""Claude Code's messages as interactions: usage counted once per message, tool turns paired, the run's cost on
its last turn, the final answer held until the run is known to end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claude_tasks.claude.claude_code_steps import Steps, tool_output
from claude_tasks.core.records import Role, Usage


@dataclass
class Text:
    text: str


@dataclass
class Use:
    id: str
    name: str
    input: dict[str, Any]


USAGE = {"input_tokens": 100, "output_tokens": 1, "cache_read_input_tokens": 20}


def test_each_copy_of_a_message_adds_its_block_and_the_usage_is_counted_once() -> None:
    # Given a run, and one model message arriving as two copies (its text, then its tool use)
    steps = Steps()
    # When both copies are translated
    first = steps.assistant([("text", Text("I'll write it."))], "claude-sonnet-4-6", "msg_1", USAGE)
    second = steps.assistant([("tool_use", Use("tu_1", "Write", {"file_path": "a.txt"}))], "m", "msg_1", USAGE)
    # Then the text waited for the next message, and then came before the tool use
    assert first == []
    assert [(t.role, t.tool_name, t.stop_reason) for t in second] == [
        (Role.ASSISTANT, None, None),
        (Role.TOOL, "Write", "tool_use"),
    ]
    # And the message's usage is on its first turn only
    assert second[0].usage == Usage(input_tokens=100, output_tokens=1, cache_read_input_tokens=20)
    assert second[1].usage == Usage()
    assert second[1].content == '{"file_path": "a.txt"}' and second[1].tool_use_id == "tu_1"


def test_a_tool_result_is_paired_with_its_use_by_id_and_names_the_tool() -> None:
    steps = Steps()
    steps.assistant([("tool_use", Use("tu_9", "Bash", {"command": "ls"}))], "m", "msg_1", USAGE)
    # When the tool's result arrives, failed
    result = steps.tool_result("tu_9", [{"type": "text", "text": "no such file"}], is_error=True)
    # Then it is a tool turn of that tool, marked as an error
    assert (result.role, result.tool_name, result.tool_use_id, result.stop_reason, result.content) == (
        Role.TOOL,
        "Bash",
        "tu_9",
        "tool_error",
        "no such file",
    )


def test_the_final_answer_carries_the_runs_cost_and_the_tokens_the_messages_missed() -> None:
    # Given a run, and one answer seen with the partial usage a message's copies carry
    steps = Steps()
    assert steps.assistant([("text", Text("Done."))], "m", "msg_1", USAGE) == []
    # When the result reports the run's cost and its exact usage
    total = {"input_tokens": 100, "output_tokens": 9, "cache_read_input_tokens": 20}
    last = steps.close(total_cost_usd=0.25, usage=total, duration_ms=1200, note=None)
    # Then the answer is the run's last turn, with the run's cost and the whole run's tokens
    assert [(t.role, t.content) for t in last] == [(Role.ASSISTANT, "Done.")]
    assert last[0].cost_usd == 0.25
    assert last[0].usage == Usage(input_tokens=100, output_tokens=9, cache_read_input_tokens=20)


def test_a_run_that_ends_otherwise_closes_with_a_system_turn_saying_how() -> None:
    steps = Steps()
    steps.assistant([("tool_use", Use("tu_1", "Read", {"file_path": "x"}))], "m", "msg_1", USAGE)
    steps.tool_result("tu_1", "contents", is_error=False)
    # When the run ends on a limit, after a tool result
    last = steps.close(total_cost_usd=0.01, usage=None, duration_ms=50, note="max_turns reached")
    # Then a system turn says so and carries the cost
    assert [(t.role, t.content, t.cost_usd, t.duration_ms) for t in last] == [
        (Role.SYSTEM, "max_turns reached", 0.01, 50)
    ]


def test_tool_output_reads_strings_text_blocks_and_names_other_blocks() -> None:
    assert tool_output(None) == ""
    assert tool_output("plain") == "plain"
    assert tool_output([{"type": "text", "text": "a"}, {"type": "image", "source": {}}]) == "a\n[image]"
