"""Collections, indexes and writes. The only module that imports pymongo.

Collections (contract §3): ``runs``, ``pages``, ``links``, ``placements``,
``scores``, plus ``campaigns`` (stored campaign files) and
``placement_digests`` (compact placements for diffs: `tiercrawl.jobs.placements`).
Every run is kept: documents carry ``run_id`` and writes are keyed by it, so
a new crawl never overwrites history.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, ReplaceOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from tiercrawl.exceptions import StoreError
from tiercrawl.store.embedded import embedded_uri

__all__ = ["COLLECTIONS", "Store", "open_store"]

COLLECTIONS = (
    "runs",
    "pages",
    "links",
    "placements",
    "placement_digests",
    "scores",
    "campaigns",
)

_DUPLICATE_KEY = 11000

# The queries each index serves: a run's documents of one page (placements,
# scoring), a run's documents in order (reports, diff), latest run lookups.
_INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "runs": [([("campaign", ASCENDING), ("started_at", DESCENDING)], {})],
    "pages": [([("run_id", ASCENDING), ("url", ASCENDING)], {"unique": True})],
    "links": [
        (
            [("run_id", ASCENDING), ("source_url", ASCENDING), ("position", ASCENDING)],
            {"unique": True},
        ),
    ],
    "placements": [
        (
            [
                ("run_id", ASCENDING),
                ("tier", ASCENDING),
                ("url", ASCENDING),
                ("target", ASCENDING),
            ],
            {"unique": True},
        ),
    ],
    # A run's digests read a few at a time, by seq (tiercrawl.jobs.placements).
    "placement_digests": [([("run_id", ASCENDING), ("seq", ASCENDING)], {"unique": True})],
    "scores": [
        (
            [
                ("run_id", ASCENDING),
                ("tier", ASCENDING),
                ("url", ASCENDING),
                ("target", ASCENDING),
            ],
            {"unique": True},
        ),
    ],
    "campaigns": [([("name", ASCENDING)], {"unique": True})],
}


def _database_name(uri: str) -> str:
    name = pymongo.uri_parser.parse_uri(uri).get("database")
    return name or "tiercrawl"


def open_store(uri: str | None = None, *, home: Path | None = None) -> Store:
    """Open the store at ``uri``, ``TIERCRAWL_MONGO_URI``, or the embedded one."""
    uri = uri or os.environ.get("TIERCRAWL_MONGO_URI") or embedded_uri(home)
    try:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=10_000, tz_aware=True
        )
        client.admin.command("ping")
    except (PyMongoError, ValueError) as exc:
        # pymongo appends its topology description: keep the first, readable part.
        reason = str(exc).split(" (configured timeouts", 1)[0]
        raise StoreError(f"cannot reach MongoDB at {_redacted(uri)}: {reason}") from exc
    return Store(client, _database_name(uri))


def _redacted(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


class Store:
    """A tiercrawl database: collection access and the few writes that need care."""

    def __init__(self, client: pymongo.MongoClient[dict[str, Any]], database: str) -> None:
        self.client = client
        self.db: Database[dict[str, Any]] = client[database]
        self._indexed = False

    def __getattr__(self, name: str) -> Collection[dict[str, Any]]:
        if name in COLLECTIONS:
            return self.db[name]
        raise AttributeError(name)

    def ensure_indexes(self) -> None:
        if self._indexed:
            return
        try:
            for collection, indexes in _INDEXES.items():
                for keys, options in indexes:
                    self.db[collection].create_index(keys, **options)
        except PyMongoError as exc:
            raise StoreError(f"cannot create indexes: {exc}") from exc
        self._indexed = True

    def upsert_many(
        self, collection: str, docs: Sequence[Mapping[str, Any]], key: Sequence[str]
    ) -> None:
        """Write ``docs`` in one round trip, replacing any with the same ``key`` fields."""
        if not docs:
            return
        ops = [ReplaceOne({k: doc[k] for k in key}, dict(doc), upsert=True) for doc in docs]
        self.db[collection].bulk_write(ops, ordered=False)

    def insert_many_once(self, collection: str, docs: Iterable[Mapping[str, Any]]) -> int:
        """Insert ``docs`` in one round trip; documents already there (same unique key) are kept.

        Returns how many were new. A retried shard or a re-sent batch thus never
        duplicates a document.
        """
        batch = [dict(doc) for doc in docs]
        if not batch:
            return 0
        try:
            return len(self.db[collection].insert_many(batch, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != _DUPLICATE_KEY for error in errors):
                raise
            return int(exc.details.get("nInserted", 0))

    def runs_of(
        self,
        campaign: str,
        statuses: Iterable[str] = ("finished",),
        *,
        rechecks: bool = True,
    ) -> list[dict[str, Any]]:
        """The campaign's runs with one of ``statuses``, newest first.

        ``rechecks=False`` leaves out recheck runs (``tiercrawl crawl --recheck``),
        which cover only some placements: scores and reports want whole runs.
        """
        query: dict[str, Any] = {"campaign": campaign, "status": {"$in": list(statuses)}}
        if not rechecks:
            query["recheck_of"] = None
        return list(self.runs.find(query).sort("started_at", DESCENDING))

    def latest_run(
        self,
        campaign: str,
        statuses: Iterable[str] = ("finished",),
        *,
        rechecks: bool = True,
    ) -> dict[str, Any] | None:
        runs = self.runs_of(campaign, statuses, rechecks=rechecks)
        return runs[0] if runs else None

    def close(self) -> None:
        self.client.close()
