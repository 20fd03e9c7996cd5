"""Which queries a test's store made, and whether the server answered each from an index."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymongo import monitoring

from tiercrawl.store import Store

__all__ = ["Replies", "assert_every_query_reads_what_it_returns"]


class Replies(monitoring.CommandListener):
    """Documents returned per query (its first batch and every getMore) and per collection."""

    def __init__(self) -> None:
        self.finds: list[tuple[str, dict[str, Any]]] = []
        self.per_query: Counter[int] = Counter()
        self.per_collection: Counter[str] = Counter()
        self._requests: dict[int, tuple[int, str]] = {}
        self._cursors: dict[int, tuple[int, str]] = {}
        self._queries = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.finds.append((event.command["find"], event.command.get("filter", {})))
            self._queries += 1
            self._requests[event.request_id] = (self._queries, event.command["find"])
        elif event.command_name == "getMore":
            self._requests[event.request_id] = self._cursors[event.command["getMore"]]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        query = self._requests.pop(event.request_id, None)
        if query is None:
            return
        cursor = event.reply["cursor"]
        docs = len(cursor.get("firstBatch", cursor.get("nextBatch", [])))
        if cursor["id"]:
            self._cursors[cursor["id"]] = query
        self.per_query[query[0]] += docs
        self.per_collection[query[1]] += docs

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._requests.pop(event.request_id, None)


def assert_every_query_reads_what_it_returns(store: Store, replies: Replies) -> None:
    """No query of a run's documents scans the run: each examines only what it returns
    (the server's explain), which a range or a field missing before the index's
    last queried field would not (a collection scan that returns a few documents)."""
    for collection, query in replies.finds:
        if collection == "runs":  # one document a run: scanned, as it is small
            continue
        stats = store.db[collection].find(query).explain()["executionStats"]
        assert stats["totalDocsExamined"] <= stats["nReturned"], (collection, query)
