"""Integration level: moto server over HTTP on 127.0.0.1, one request at a time (see local/aws.py).

A module that makes faults at the AWS boundary serves its tests from the moto server behind the fault
middleware (`tests/support/aws_faults.py`), and arms it through `faults`:

    @pytest.fixture(scope="module")
    def moto_server(faulty_aws: EmbeddedAws) -> EmbeddedAws:
        return faulty_aws
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claude_tasks.core.config import Settings
from claude_tasks.store import Store
from claude_tasks_dev.local.aws import EmbeddedAws
from claude_tasks_dev.local.resources import provision
from tests.support.aws_faults import AwsFaults


@pytest.fixture(scope="session")
def moto_server() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as aws:
        yield aws


@pytest.fixture(scope="session")
def aws_faults() -> AwsFaults:
    return AwsFaults()


@pytest.fixture(scope="session")
def faulty_aws(aws_faults: AwsFaults) -> Iterator[EmbeddedAws]:
    """A moto server of its own, with the fault middleware in front of it."""
    with EmbeddedAws(middleware=aws_faults.wrap) as aws:
        yield aws


@pytest.fixture
def faults(aws_faults: AwsFaults) -> Iterator[AwsFaults]:
    """The fault middleware's rules, disarmed after the test."""
    yield aws_faults
    aws_faults.clear()


# moto serves one request at a time, so a race test's N threads queue behind each other there: a request
# may wait for all the others, each slower on a busy machine. DynamoDB serves them at once; its 5 s read
# timeout (the service's default) would here measure the queue, and fail a race on a loaded machine.
QUEUED_READ_TIMEOUT_S = 60.0


@pytest.fixture
def settings(moto_server: EmbeddedAws) -> Settings:
    moto_server.reset()
    return provision(moto_server.endpoint_url).model_copy(update={"db_read_timeout_s": QUEUED_READ_TIMEOUT_S})


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings)
