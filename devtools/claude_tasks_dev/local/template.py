"""Read `template.yaml` — CloudFormation's short-form tags (`!Ref`, `!GetAtt`, …) included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from claude_tasks_dev.checkout import repo_root


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps each `!Tag value` as `{"Tag": value}`, the long form CloudFormation uses."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The parsed template; `path` defaults to the checkout's `template.yaml`."""
    text = (path or repo_root() / "template.yaml").read_text()
    document: dict[str, Any] = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return document


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """`{logical_id: Properties}` of every resource of CloudFormation type `kind`."""
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    }
