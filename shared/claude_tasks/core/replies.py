"""`reply_to`: the SQS queue a `task.create` names for its result, accepted only under the allowed prefix.

The queue must be of the service's own account and endpoint (compared with the task queue's URL) and its
name must start with the deployment's reply queue prefix: the template grants `sqs:SendMessage` on exactly
those queues, so a name outside it would only fail later, unseen by the sender.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from claude_tasks.core.config import Settings
from claude_tasks.core.errors import DomainError

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


class ReplyToRefused(DomainError):
    """The `reply_to` queue is not one this deployment may send to."""


def check_reply_to(settings: Settings, url: str) -> str:
    """`url` when it is a standard queue of this account named under the reply prefix. Raises `ReplyToRefused`."""
    prefix = settings.reply_queue_prefix
    if not prefix:
        raise ReplyToRefused("this deployment sends no replies (its reply queue prefix is empty): leave out reply_to")
    base = urlsplit(settings.task_queue_url)
    account = base.path.strip("/").split("/")[0] if base.path else ""
    example = f"{base.scheme}://{base.netloc}/{account}/{prefix}..."
    target = urlsplit(url)
    parts = target.path.strip("/").split("/")
    if (target.scheme, target.netloc) != (base.scheme, base.netloc) or len(parts) != 2 or parts[0] != account:
        raise ReplyToRefused(f"reply_to must be a queue URL of this service's account and region, like {example}")
    name = parts[1]
    if not name.startswith(prefix) or not _QUEUE_NAME.fullmatch(name) or target.query or target.fragment:
        raise ReplyToRefused(f"reply_to must name a standard queue whose name starts with {prefix!r}, like {example}")
    return url
