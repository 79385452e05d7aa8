"""Task events Lambda: the target of the tasks table's pipe. A batch of stream records in, task events on the bus.

EventBridge Pipes reads the table's stream (only committed writes are in it), filters out the writes that
cannot change a status, and invokes this function with the rest; `task_events` keeps those that are events
and the publisher puts them on the bus. A raised error makes the pipe deliver the batch again: delivery is at
least once, and each event's `event_id` lets consumers drop repeats. The local stack runs this same function
on the stream of its emulated table.
"""

from __future__ import annotations

import gc

# Nothing the imports below make is garbage, yet the cyclic collector would walk those objects
# (botocore's, pydantic's, ours) again and again while they are made: it waits until the module
# is built, and then leaves them out of its passes for good (`gc.freeze`; README, cold start).
gc.disable()

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_tasks.app.events import EventPublisher, task_events
from claude_tasks.core.config import get_settings

logger = Logger()
metrics = Metrics()
settings = get_settings()
publisher = EventPublisher(settings)  # its client is made on the first batch


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: list[dict[str, Any]], context: LambdaContext) -> dict[str, int]:
    """Publish the events of the pipe's batch (a JSON array of stream records); returns the counts."""
    events = task_events(event)
    published = publisher.publish(events)
    metrics.add_metric(name="TaskEventsPublished", unit=MetricUnit.Count, value=published)
    logger.info("batch published", extra={"records": len(event), "events": published})
    return {"records": len(event), "events": published}


gc.freeze()  # the module is built (see `gc.disable()` above)
gc.enable()
