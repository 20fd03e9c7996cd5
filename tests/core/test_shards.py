from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tiercrawl.core.shards import Shard, merge_stats, plan_shards, run_status, shard_pages


def _pages(spec: dict[str, int]) -> list[tuple[str, int]]:
    """``{"alpha.com": 3}`` → three tier-1 pages on a.example (hosts vary, the domain does not)."""
    return [
        (f"https://{'www.' if n % 2 else 'blog.'}{domain}/p{n}", 1)
        for domain, count in spec.items()
        for n in range(count)
    ]


def test_a_domain_never_spans_two_shards() -> None:
    pages = _pages({"alpha.com": 5, "beta.co.uk": 3, "gamma.net": 2, "delta.io": 1})
    shards = plan_shards(pages, 3)
    owners = {}
    for shard in shards:
        for url, _tier in shard_pages(pages, shard.domains):
            assert url not in owners
            owners[url] = shard.index
    assert sorted(owners) == sorted(url for url, _ in pages)
    assert {d for s in shards for d in s.domains} == {
        "alpha.com",
        "beta.co.uk",
        "gamma.net",
        "delta.io",
    }


def test_shards_are_balanced_by_page_count() -> None:
    shards = plan_shards(_pages({"alpha.com": 4, "beta.org": 3, "gamma.net": 2, "delta.io": 2}), 2)
    assert [s.page_count for s in shards] == [6, 5]
    assert shards == [
        Shard(index=0, domains=("alpha.com", "gamma.net"), page_count=6),
        Shard(index=1, domains=("beta.org", "delta.io"), page_count=5),
    ]


def test_plan_is_deterministic_whatever_the_page_order() -> None:
    pages = _pages({"alpha.com": 2, "beta.org": 2, "gamma.net": 2, "delta.io": 1})
    assert plan_shards(pages, 3) == plan_shards(list(reversed(pages)), 3)


def test_fewer_domains_than_nodes_gives_fewer_shards() -> None:
    shards = plan_shards(_pages({"alpha.com": 2, "beta.org": 1}), 5)
    assert [s.index for s in shards] == [0, 1]
    assert plan_shards([], 3) == []


def test_one_shard_holds_everything() -> None:
    pages = _pages({"alpha.com": 2, "beta.org": 1})
    (shard,) = plan_shards(pages, 1)
    assert shard_pages(pages, shard.domains) == pages


def test_no_shard_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one shard"):
        plan_shards(_pages({"alpha.com": 1}), 0)


def test_shard_pages_keep_campaign_order() -> None:
    pages = [("https://alpha.com/1", 1), ("https://beta.org/1", 2), ("https://alpha.com/2", 0)]
    assert shard_pages(pages, ["alpha.com"]) == [
        ("https://alpha.com/1", 1),
        ("https://alpha.com/2", 0),
    ]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["finished", "finished"], "finished"),
        (["finished", "running"], "running"),
        (["pending", "pending"], "running"),
        (["failed", "running"], "failed"),
        (["finished", "failed"], "failed"),
        ([], "running"),
    ],
)
def test_run_status(statuses: list[str], expected: str) -> None:
    assert run_status(statuses) == expected


def test_merge_stats() -> None:
    early = datetime(2026, 1, 1, 10, tzinfo=UTC)
    late = datetime(2026, 1, 1, 11, tzinfo=UTC)
    merged = merge_stats(
        [
            {
                "tiercrawl/pages": 3,
                "elapsed_time_seconds": 2.5,
                "start_time": late,
                "finish_time": late,
                "finish_reason": "finished",
            },
            {
                "tiercrawl/pages": 4,
                "elapsed_time_seconds": 1.0,
                "start_time": early,
                "finish_time": early,
                "finish_reason": "shutdown",
                "tiercrawl/error/dns": 1,
            },
            {"finish_reason": "finished"},
        ]
    )
    assert merged == {
        "tiercrawl/pages": 7,
        "elapsed_time_seconds": 2.5,
        "start_time": early,
        "finish_time": late,
        "finish_reason": ["finished", "shutdown"],
        "tiercrawl/error/dns": 1,
    }
