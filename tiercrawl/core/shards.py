"""Splitting a campaign's pages across Scrapyd nodes, and the state of a sharded run.

A shard owns whole registered domains: every page of a site is fetched by one
node, so Scrapy's per-domain politeness (concurrency, AutoThrottle, robots.txt)
still holds when the crawl is spread over several machines. The split is
deterministic, so the same campaign and node count always give the same shards.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tiercrawl.core.urls import registered_domain

__all__ = [
    "SHARD_DONE",
    "Shard",
    "merge_stats",
    "plan_shards",
    "run_status",
    "shard_pages",
]

# A shard in one of these states will not change any more.
SHARD_DONE = frozenset({"finished", "failed"})

Page = tuple[str, int]


@dataclass(frozen=True)
class Shard:
    """The registered domains one node crawls, and how many campaign pages that makes."""

    index: int
    domains: tuple[str, ...]
    page_count: int


def plan_shards(
    pages: Sequence[Page],
    count: int,
    domain_of: Callable[[str], str] = registered_domain,
) -> list[Shard]:
    """Assign each registered domain of ``pages`` to one of at most ``count`` shards.

    Domains are placed largest first on the shard with the fewest pages so far
    (ties: the lowest index), which keeps the shards within one domain's size
    of each other. A campaign with fewer domains than ``count`` gives fewer
    shards: an empty shard would only start an idle job.
    """
    if count < 1:
        raise ValueError("a run needs at least one shard")
    sizes: dict[str, int] = {}
    for url, _tier in pages:
        domain = domain_of(url)
        sizes[domain] = sizes.get(domain, 0) + 1
    loads = [0] * min(count, len(sizes))
    owned: list[list[str]] = [[] for _ in loads]
    for domain, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        index = min(range(len(loads)), key=lambda i: (loads[i], i))
        loads[index] += size
        owned[index].append(domain)
    return [
        Shard(index=i, domains=tuple(sorted(domains)), page_count=loads[i])
        for i, domains in enumerate(owned)
    ]


def shard_pages(
    pages: Iterable[Page],
    domains: Collection[str],
    domain_of: Callable[[str], str] = registered_domain,
) -> list[Page]:
    """The pages, in campaign order, whose registered domain is one of ``domains``."""
    wanted = set(domains)
    return [(url, tier) for url, tier in pages if domain_of(url) in wanted]


def run_status(shard_statuses: Iterable[str]) -> str:
    """A sharded run's status: ``failed`` once a shard failed, ``finished`` once all finished."""
    statuses = list(shard_statuses)
    if "failed" in statuses:
        return "failed"
    if statuses and all(status == "finished" for status in statuses):
        return "finished"
    return "running"


def merge_stats(shard_stats: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One run's stats from its shards' Scrapy stats.

    Counts add up; durations and sizes (floats) take the longest shard's;
    ``start_time`` is the earliest and other times the latest; text values
    that differ between shards are kept as a sorted list.
    """
    merged: dict[str, Any] = {}
    for stats in shard_stats:
        for key, value in stats.items():
            if key not in merged:
                merged[key] = value
            else:
                merged[key] = _merge_value(key, merged[key], value)
    return merged


def _merge_value(key: str, old: Any, new: Any) -> Any:
    if isinstance(old, bool) or isinstance(new, bool):
        return old and new
    if isinstance(old, int) and isinstance(new, int):
        return old + new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return max(old, new)
    if isinstance(old, datetime) and isinstance(new, datetime):
        return min(old, new) if key == "start_time" else max(old, new)
    if old == new:
        return old
    values = old if isinstance(old, list) else [old]
    return sorted([*values, new] if new not in values else values, key=str)
