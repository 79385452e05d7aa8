"""Task replies Lambda: the target of the bus's reply rule. A terminal task event in, its `reply_to` queue fed.

The rule matches the terminal events of tasks whose `task.create` named a `reply_to` queue; EventBridge
invokes this function asynchronously, retries it, and moves an event it could not deliver to the replies DLQ.
"""

from __future__ import annotations

import gc

# Nothing the imports below make is garbage, yet the cyclic collector would walk those objects
# (botocore's, pydantic's, ours) again and again while they are made: it waits until the module
# is built, and then leaves them out of its passes for good (`gc.freeze`; README, cold start).
gc.disable()

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_tasks.app.replies import ReplySender
from claude_tasks.core.config import get_settings
from claude_tasks.core.events import TaskEvent

logger = Logger()
settings = get_settings()
sender = ReplySender(settings)  # its client is made on the first reply


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, bool]:
    """Send the event's detail to its `reply_to` queue; returns whether it was sent."""
    task_event = TaskEvent.model_validate(event["detail"])
    logger.append_keys(task_id=task_event.task_id, event_id=task_event.event_id)
    return {"sent": sender.send(task_event)}


gc.freeze()  # the module is built (see `gc.disable()` above)
gc.enable()
