"""Every PynamoDB connection's botocore session reads DynamoDB's service model through one shared loader."""

from __future__ import annotations

from botocore.loaders import JSONFileLoader

from claude_tasks.core.records import NewTask
from claude_tasks.store import Store
from claude_tasks.store.models import SessionModel, TaskModel, UsageModel


def test_the_tables_connections_load_dynamodbs_service_model_once(store: Store, monkeypatch) -> None:
    # Given a store, and a count of the JSON files botocore reads from now on
    read: list[str] = []
    load_file = JSONFileLoader.load_file

    def counted(self: JSONFileLoader, file_path: str) -> object:
        read.append(file_path)
        return load_file(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counted)
    # When the first request through it touches three tables and commits a transaction (four connections)
    session = store.sessions.create("alice", "/work/p")
    store.tasks.create("alice", session.session_id, NewTask(prompt="hi"))
    # Then the connections share one loader, and DynamoDB's service model was read at most once
    loaders = {
        id(model._get_connection().connection.session.get_component("data_loader"))
        for model in (SessionModel, TaskModel, UsageModel)
    }
    assert len(loaders) == 1
    assert sum(1 for path in read if path.endswith("dynamodb/2012-08-10/service-2")) <= 1
