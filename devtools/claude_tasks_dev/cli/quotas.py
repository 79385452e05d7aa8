"""Usage and quotas: your totals and quota (`usage`), and an admin's owner quotas (`quotas get|set|clear`).

`usage` reads `GET /usage` (`--owner` another owner's: an admin's token, or locally the stack's
`admin`); `quotas` goes through `/admin/quotas/{owner}`. In an owner's overrides a limit left unset
takes the deployment's default and 0 is no limit, as in the deployment's QUOTA_* settings.
"""

from __future__ import annotations

import argparse
from typing import Any

from claude_tasks_dev.cli import output
from claude_tasks_dev.cli.admin import admin_client
from claude_tasks_dev.cli.client import EXIT_OK, UsageError, segment
from claude_tasks_dev.cli.context import Context

LIMITS = (
    ("max_active_tasks", "active tasks at once"),
    ("max_tasks_per_minute", "tasks created per minute"),
    ("monthly_spend_usd", "spend per month (USD)"),
)
# The TASKS column's order: q/r/s/f/x/c.
STATUSES = ("queued", "running", "succeeded", "failed", "exhausted", "cancelled")
USAGE_COLUMNS = [
    ("period", "PERIOD", None), ("turns", "TURNS", None), ("tokens", "TOKENS", None),
    ("cost_usd", "COST (USD)", None), ("tasks", "TASKS (q/r/s/f/x/c)", None),
]  # fmt: skip


def usage(ctx: Context, args: argparse.Namespace) -> int:
    """Print the caller's (or, for an admin, `--owner`'s) totals: all time, this month, the last 30 days."""
    client = ctx.client if args.owner is None else admin_client(ctx, args)
    totals = client.call("GET", "/usage", query={"owner": args.owner} if args.owner else None)
    ctx.show(totals, render_usage)
    return EXIT_OK


def render_usage(totals: dict[str, Any]) -> str:
    days = totals.get("days") or []
    last_30 = {
        "turns": sum(day.get("turns", 0) for day in days),
        "cost_usd": sum(day.get("cost_usd", 0.0) for day in days),
        "usage": {
            key: sum((day.get("usage") or {}).get(key, 0) for day in days)
            for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        },
    }
    rows = [
        _row("all time", totals.get("total") or {}),
        _row("this month", totals.get("month") or {}),
        _row(f"last {len(days)} days", last_30),
    ]
    quota = ", ".join(f"{label} {_limit(totals.get('quota', {}).get(key))}" for key, label in LIMITS)
    return f"owner  {totals.get('owner')}\n\n{output.table(rows, USAGE_COLUMNS)}\n\nquota  {quota}"


def _row(period: str, totals: dict[str, Any]) -> dict[str, Any]:
    tasks = totals.get("tasks")
    return {
        "period": period,
        "turns": totals.get("turns", 0),
        "tokens": output.tokens(totals.get("usage") or {}),
        "cost_usd": f"{totals.get('cost_usd', 0.0):.4f}",
        # Tasks by status are counted in the total only (a month or a day only spends).
        "tasks": "/".join(str(tasks.get(status, 0)) for status in STATUSES) if tasks else None,
    }


def _limit(value: Any) -> str:
    return "no limit" if value is None else f"{value:g}"


def quotas_get(ctx: Context, args: argparse.Namespace) -> int:
    """Print the owner's overrides and the quota that applies to them."""
    quota = admin_client(ctx, args).call("GET", _quota_path(args.owner))
    ctx.show(quota, render_quota)
    return EXIT_OK


def quotas_set(ctx: Context, args: argparse.Namespace) -> int:
    """Replace the owner's overrides with the limits given (a limit not given takes the default; 0: no limit)."""
    given = {"max_active_tasks": args.max_active, "max_tasks_per_minute": args.per_minute,
             "monthly_spend_usd": args.monthly_usd}  # fmt: skip
    body = {key: value for key, value in given.items() if value is not None}
    quota = admin_client(ctx, args).call("PUT", _quota_path(args.owner), body)
    ctx.show(quota, render_quota)
    return EXIT_OK


def quotas_clear(ctx: Context, args: argparse.Namespace) -> int:
    """Drop the owner's overrides; print the quota that applies now (the deployment's defaults)."""
    client = admin_client(ctx, args)
    client.call("DELETE", _quota_path(args.owner))
    ctx.show(client.call("GET", _quota_path(args.owner)), render_quota)
    return EXIT_OK


def _quota_path(owner: str) -> str:
    """The owner's quota route. API Gateway's HTTP API decodes `%2F` in a path, so an owner holding a `/`
    would not reach its route: refused here, saying why."""
    if "/" in owner:
        raise UsageError(f"owner {owner!r} holds a '/': /admin/quotas/{{owner}} cannot address it")
    return f"/admin/quotas/{segment(owner)}"


def render_quota(quota: dict[str, Any]) -> str:
    override, applies = quota.get("override") or {}, quota.get("quota") or {}
    rows = [
        {"limit": key, "override": _override(override.get(key)), "quota": _limit(applies.get(key))} for key, _ in LIMITS
    ]
    columns = [("limit", "LIMIT", None), ("override", "OVERRIDE", None), ("quota", "APPLIES", None)]
    return f"owner  {quota.get('owner')}\n\n{output.table(rows, columns)}"


def _override(value: Any) -> str:
    if value is None:
        return "default"
    return "0 (no limit)" if value == 0 else f"{value:g}"
