"""What a reply cost, from its token usage and Anthropic's list prices (USD per million tokens).

Prices go by model family, matched as a substring of the model id so that API
ids (`claude-sonnet-4-5`) and Bedrock ids (`us.anthropic.claude-sonnet-4-5-…-v1:0`)
price alike. Cache writes are priced at the 5-minute TTL rate (1.25 × input).

The table has a version and the date it is valid from: every turn's totals record the
version they were priced with (`PRICES.version`), so a total says which prices it used.
A new price list is a new table with a new version, never an edit of this one's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from claude_tasks.core.records import Usage


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


SONNET = Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)
_OPUS_LEGACY = Price(input=15.0, output=75.0, cache_write=18.75, cache_read=1.50)
_FRONTIER = Price(input=10.0, output=50.0, cache_write=12.50, cache_read=1.00)

# List prices from platform.claude.com (late 2026). First match wins, so a
# generation priced apart from its family comes before the family's own row.
_PRICES: tuple[tuple[str, Price], ...] = (
    ("fable-5-1", Price(input=10.0, output=50.0, cache_write=12.50, cache_read=0.25)),
    ("mythos-5-1", Price(input=10.0, output=50.0, cache_write=12.50, cache_read=0.25)),
    ("fable", _FRONTIER),
    ("mythos", _FRONTIER),
    ("opus-5-5", Price(input=4.0, output=20.0, cache_write=5.0, cache_read=0.20)),
    ("claude-3-opus", _OPUS_LEGACY),
    ("opus-4-0", _OPUS_LEGACY),
    ("opus-4-1", _OPUS_LEGACY),
    ("opus-4-2025", _OPUS_LEGACY),  # claude-opus-4-20250514
    ("opus", Price(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50)),
    ("sonnet-5", Price(input=2.0, output=10.0, cache_write=2.50, cache_read=0.20)),  # 5 and 5.5
    ("sonnet", SONNET),
    # Haiku 5.5 costs 5x this on prompts over 100k tokens, which a per-reply table cannot see.
    ("haiku-5-5", Price(input=0.10, output=0.50, cache_write=0.125, cache_read=0.01)),
    ("claude-3-haiku", Price(input=0.25, output=1.25, cache_write=0.30, cache_read=0.03)),
    ("claude-3-5-haiku", Price(input=0.80, output=4.0, cache_write=1.0, cache_read=0.08)),
    ("haiku", Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10)),
)


@dataclass(frozen=True)
class PriceTable:
    """Prices by model (a substring of the id, first match wins), valid from `valid_from` (UTC date)."""

    version: str
    valid_from: str
    rows: tuple[tuple[str, Price], ...]


PRICES = PriceTable(version="anthropic-list-2026-11", valid_from="2026-11-01", rows=_PRICES)
# What Claude Code turns are priced with: the CLI's own `total_cost_usd`, not this table.
AGENT_REPORTED = "claude-code-reported"


def price_for(model: str) -> Price:
    """The price of `model`; an unknown model is priced as Sonnet rather than as free."""
    lowered = model.lower()
    return next((price for key, price in PRICES.rows if key in lowered), SONNET)


def cost_usd(model: str, usage: Usage) -> float:
    """The list-price cost in USD of `usage` on `model`; never negative, never raises."""
    price = price_for(model)
    per_token = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    )
    return max(per_token, 0) / 1_000_000
