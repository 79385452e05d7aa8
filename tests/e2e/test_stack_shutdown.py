"""Ctrl-C of the local stack: messages held in flight are saved too, and come back on restart."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.e2e.local_stack import FAST, start_stack


def test_a_message_in_flight_at_ctrl_c_is_saved_and_visible_after_restart(tmp_path: Path) -> None:
    # Given a stack with two dead-lettered messages, one of them received and held invisible
    first = start_stack(tmp_path, *FAST)
    sqs, dlq = first.sqs(), first.info["queues"]["dlq_url"]
    for body in ("kept-visible", "held-in-flight"):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    held = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=600)["Messages"]
    assert {m["Body"] for m in held} == {"kept-visible", "held-in-flight"}
    visible = next(m for m in held if m["Body"] == "kept-visible")
    sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=visible["ReceiptHandle"], VisibilityTimeout=0)
    # When it is stopped with Ctrl-C and started again on the same state folder
    assert first.stop(signal.SIGINT) == 0, first.output()[-2000:]
    assert first.output().rstrip().endswith("stopped."), first.output()[-2000:]
    second = start_stack(tmp_path, *FAST)
    try:
        # Then both messages are in the dead-letter queue, visible
        sqs, dlq = second.sqs(), second.info["queues"]["dlq_url"]
        bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]]
        assert sorted(bodies) == ["held-in-flight", "kept-visible"]
    finally:
        assert second.stop() == 0, second.output()[-2000:]
