"""The diff and history jobs stream: what they read, and what any one query returns,
does not grow with a run.

The embedded store materialises a query's whole result before its first
batch, so "streamed" means here: no single query returns more than a bounded
number of documents, and placement documents are read only for placements
that changed. Counted from the server's replies (pymongo command monitoring).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.queries import Replies, assert_every_query_reads_what_it_returns
from tiercrawl.jobs import diff, placements
from tiercrawl.jobs.diff import changes_between
from tiercrawl.jobs.history import campaign_history
from tiercrawl.jobs.placements import digest_row, write_digests
from tiercrawl.store import Store
from tiercrawl.testing import insert_finished_run, placement_document

CAMPAIGN = "stream"
TARGET = "https://acme.example/drills/"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _placement(run_id: str, i: int, lost: bool) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "campaign": CAMPAIGN,
        **placement_document(
            1 if i % 4 else 2,
            f"https://site{i % 37}.example/post/{i}",
            TARGET,
            "missing" if lost else "live",
            None if lost else {"url": TARGET, "anchor_text": "drills", "rel": []},
            reason="",
            page_status=200,
            page_error=None,
        ),
    }


def _fill(store: Store, count: int) -> None:
    for day, run_id in enumerate(("old", "new")):
        insert_finished_run(store, run_id, CAMPAIGN, T0 + timedelta(days=day))
        docs = [_placement(run_id, i, run_id == "new" and i % 20 == 0) for i in range(count)]
        store.placements.insert_many(docs)
        write_digests(store, run_id, CAMPAIGN, [digest_row(doc) for doc in docs])


@pytest.mark.parametrize("count", [600, 2400])
def test_no_query_returns_more_than_a_batch_and_only_changed_placements_are_read(
    watched: tuple[Store, Replies], monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    # Small units, so that a few thousand placements span many of each.
    monkeypatch.setattr(placements, "DIGEST_SIZE", 50)
    monkeypatch.setattr(diff, "_DIGEST_READS", 2)
    monkeypatch.setattr(diff, "_PAIRS", 100)
    monkeypatch.setattr(diff, "_LOOKUP_CHUNK", 10)
    store, replies = watched
    _fill(store, count)
    replies.per_query.clear()
    replies.per_collection.clear()

    _, changes = changes_between(store, CAMPAIGN)
    lost = Counter(change.kind for change in changes)

    assert lost == {"lost": count // 20}
    # Whatever the count: a query returns at most 2 digests or 10 urls' documents.
    assert max(replies.per_query.values()) <= 10
    # Every placement is seen through its run's digests, once...
    assert replies.per_collection["placement_digests"] <= 2 * (count // 50 + 2) + 2
    # ...and only the changed ones are read as documents, on both sides; where a link
    # vanished, its page's placements in the newer run once more (the page's other targets).
    assert replies.per_collection["placements"] == 3 * (count // 20)
    assert replies.per_collection["pages"] == 0
    assert_every_query_reads_what_it_returns(store, replies)


def test_the_history_reads_digests_only_and_each_query_what_it_returns(
    watched: tuple[Store, Replies], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(placements, "DIGEST_SIZE", 50)
    store, replies = watched
    _fill(store, 600)
    replies.finds.clear()
    replies.per_collection.clear()

    history = campaign_history(store, CAMPAIGN)

    assert Counter(p.timeline for p in history.placements) == {"LL": 570, "LM": 30}
    assert set(replies.per_collection) == {"runs", "placement_digests"}
    assert_every_query_reads_what_it_returns(store, replies)


def test_runs_with_and_without_digests_diff_alike(store: Store) -> None:
    _fill(store, 300)
    with_digests = [change.to_dict() for change in changes_between(store, CAMPAIGN)[1]]
    store.db["placement_digests"].delete_many({"run_id": "old"})
    mixed = [change.to_dict() for change in changes_between(store, CAMPAIGN)[1]]
    store.db["placement_digests"].delete_many({})
    without = [change.to_dict() for change in changes_between(store, CAMPAIGN)[1]]
    assert len(with_digests) == 300 // 20
    assert with_digests == mixed == without


def test_a_run_with_a_digest_missing_is_refused_not_misread(store: Store) -> None:
    from tiercrawl.exceptions import StoreError

    _fill(store, 300)
    store.db["placement_digests"].delete_one({"run_id": "new", "seq": 1})
    with pytest.raises(StoreError, match="placement digests 0-1 incomplete"):
        list(changes_between(store, CAMPAIGN)[1])
