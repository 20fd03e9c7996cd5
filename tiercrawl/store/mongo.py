"""Collections, indexes and writes. The only module that imports pymongo.

Collections (contract §3): ``runs``, ``pages``, ``links``, ``placements``,
``scores``, plus ``campaigns`` (stored campaign files) and
``placement_digests`` (compact placements for diffs: `tiercrawl.jobs.placements`).
Every run is kept: documents carry ``run_id`` and writes are keyed by it, so
a new crawl never overwrites history.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import pymongo
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, ReplaceOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DocumentTooLarge, OperationFailure, PyMongoError

from tiercrawl.core.batching import batches
from tiercrawl.core.urls import hide_credentials
from tiercrawl.exceptions import StoreError
from tiercrawl.store.embedded import embedded_uri

__all__ = [
    "COLLECTIONS",
    "Store",
    "link_id",
    "link_ids",
    "open_store",
    "store_failure",
    "write_failure",
]

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
_INDEX_NOT_FOUND = 27

# The queries each index serves: a run's documents of one page (placements,
# scoring), a run's documents in order (reports, diff), latest run lookups.
# Links keep only their _id index: each is found by its `link_id`, computed from
# its page's URL and ``link_count`` (`Store.page_links`). A further index on links
# would cost the store more than the inserts themselves (docs/scaling.md).
_INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "runs": [([("campaign", ASCENDING), ("started_at", DESCENDING)], {})],
    "pages": [([("run_id", ASCENDING), ("url", ASCENDING)], {"unique": True})],
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

# Links indexes of earlier versions, by keys, replaced by `link_id`: where
# `Store.ensure_indexes` finds one, it drops it and re-keys the links.
_RETIRED_LINK_INDEXES = [
    [("run_id", ASCENDING), ("source_url", ASCENDING), ("position", ASCENDING)],
    [("run_id", ASCENDING), ("source_url", ASCENDING)],
]
_URI_SCHEMES = ("mongodb://", "mongodb+srv://")
# Ids per query when links are read or deleted by `link_id`. SecantusDB matches
# each document against every value of an `$in` list: 5,000 links read by lists
# of 1,000 ids took 12.0 s, by lists of 200 2.9 s, of 50 1.2 s, of 20 1.0 s.
_IDS_PER_QUERY = 50


def link_id(run_id: str, source_url: str, position: int) -> bytes:
    """The ``_id`` of a ``links`` document: 16 bytes, the same for the same link of a run.

    The unique ``_id`` index then rejects a re-sent link, as a unique
    (run_id, source_url, position) index did, at no extra cost.
    """
    return next(link_ids(run_id, source_url, (position,)))


def link_ids(run_id: str, source_url: str, positions: Iterable[int]) -> Iterator[bytes]:
    """`link_id` of each of ``positions`` on one page: the page's part is hashed once."""
    # Length prefixes: no run id or URL can make two different links' keys equal.
    page = f"{len(run_id)}:{run_id}{len(source_url)}:{source_url}"
    hashed = hashlib.blake2b(page.encode(), digest_size=16)
    for position in positions:
        key = hashed.copy()
        key.update(str(position).encode())
        yield key.digest()


def _insert(collection: Collection[dict[str, Any]], docs: list[dict[str, Any]]) -> int:
    """Insert ``docs``, unordered, with one ``insert`` command; return how many were new.

    The command itself rather than ``insert_many``: pymongo's bookkeeping per
    document cost a crawl 0.3 ms of CPU per page of 71 links. Its errors are
    raised as ``insert_many`` raises them, a ``BulkWriteError``. A batch over
    the command's size limit goes through ``insert_many``, which splits it.
    """
    command: dict[str, Any] = {"insert": collection.name, "documents": docs, "ordered": False}
    concern = collection.write_concern
    if not concern.is_server_default:
        command["writeConcern"] = concern.document
    try:
        reply = collection.database.command(command)
    except DocumentTooLarge:
        return len(collection.insert_many(docs, ordered=False).inserted_ids)
    concern_error = reply.get("writeConcernError")
    if reply.get("writeErrors") or concern_error:
        raise BulkWriteError(
            {
                "writeErrors": reply.get("writeErrors", []),
                "writeConcernErrors": [concern_error] if concern_error else [],
                "nInserted": reply.get("n", 0),
                "nUpserted": 0,
                "nMatched": 0,
                "nModified": 0,
                "nRemoved": 0,
                "upserted": [],
            }
        )
    return int(reply.get("n", len(docs)))


def _duplicates(exc: BulkWriteError) -> list[int]:
    """The indexes of the documents an unordered insert found taken; re-raises other errors."""
    errors = exc.details.get("writeErrors", [])
    if any(error.get("code") != _DUPLICATE_KEY for error in errors):
        raise exc
    return [error["index"] for error in errors]


def open_store(uri: str | None = None, *, home: Path | None = None) -> Store:
    """Open the store at ``uri``, ``TIERCRAWL_MONGO_URI``, or the embedded one."""
    uri = uri or os.environ.get("TIERCRAWL_MONGO_URI") or embedded_uri(home)
    if not uri.startswith(_URI_SCHEMES):
        # pymongo takes anything else for a host name ("notauri", " ").
        raise StoreError(
            f"invalid MongoDB URI {hide_credentials(uri)!r}: expected mongodb://HOST[:PORT]/DB "
            "or mongodb+srv://"
        )
    try:
        # Parses the URI and names the database without connecting: InvalidURI,
        # ConfigurationError, InvalidName (all PyMongoError) or ValueError (a port).
        # pymongo only warns of an option it does not know or cannot read, and ignores it.
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=10_000, tz_aware=True
            )
        database = client.get_default_database("tiercrawl").name
    except (PyMongoError, ValueError, UserWarning) as exc:
        raise StoreError(f"invalid MongoDB URI {hide_credentials(uri)}: {exc}") from exc
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        client.close()
        raise StoreError(
            f"cannot reach MongoDB at {hide_credentials(uri)}: {store_failure(exc)}"
        ) from exc
    return Store(client, database)


def store_failure(exc: PyMongoError) -> str:
    """What went wrong, without the topology description pymongo appends to it."""
    return str(exc).split(" (configured timeouts", 1)[0]


def write_failure(exc: PyMongoError | InvalidDocument) -> str:
    """Why the store refused a write: the first refused document's reason, not every detail."""
    if isinstance(exc, BulkWriteError):
        for error in exc.details.get("writeErrors", []):
            return str(error.get("errmsg"))
    return store_failure(exc) if isinstance(exc, PyMongoError) else str(exc)


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
            if self._drop_retired_link_indexes():
                self._rekey_links()
        except PyMongoError as exc:
            raise StoreError(f"cannot create indexes: {exc}") from exc
        self._indexed = True

    def _drop_retired_link_indexes(self) -> bool:
        found = False
        for name, info in self.links.index_information().items():
            if list(info["key"]) in _RETIRED_LINK_INDEXES:
                found = True
                try:
                    self.links.drop_index(name)
                except OperationFailure as exc:
                    # Another process opening the store dropped it first.
                    if exc.code != _INDEX_NOT_FOUND:
                        raise
        return found

    def _rekey_links(self) -> None:
        """Give the links an earlier version stored with an ObjectId their `link_id`."""
        legacy = self.links.find({"_id": {"$type": "objectId"}})
        for batch in batches(legacy, _IDS_PER_QUERY):
            self.insert_links({k: v for k, v in doc.items() if k != "_id"} for doc in batch)
            self.links.delete_many({"_id": {"$in": [doc["_id"] for doc in batch]}})

    def upsert_many(
        self, collection: str, docs: Sequence[Mapping[str, Any]], key: Sequence[str]
    ) -> None:
        """Write ``docs``, replacing any with the same ``key`` fields (a unique index).

        New documents, the common case, are inserted in one round trip: that costs
        the store less than upserts (9 % of SecantusDB's CPU in a crawl), and the
        ``insert`` command costs the crawl less than ``insert_many`` (11 µs a page
        of the benchmark, `_insert`). Those whose key is taken are then replaced in
        a second one.
        """
        if not docs:
            return
        try:
            _insert(self.db[collection], [dict(doc) for doc in docs])
        except BulkWriteError as exc:
            taken = [docs[index] for index in _duplicates(exc)]
            ops = [ReplaceOne({k: doc[k] for k in key}, dict(doc), upsert=True) for doc in taken]
            self.db[collection].bulk_write(ops, ordered=False)

    def insert_links(self, docs: Iterable[dict[str, Any]]) -> int:
        """Insert ``links`` documents in one round trip; links already there are kept.

        Each is stored with its `link_id` as ``_id``, so a retried shard or a
        re-sent batch never duplicates a link; ``docs`` themselves are left as
        they are. Returns how many were new.
        """
        batch = []
        # A batch holds whole pages, their links one after the other.
        for (run_id, source_url), page in groupby(docs, itemgetter("run_id", "source_url")):
            links = list(page)
            ids = link_ids(run_id, source_url, [link["position"] for link in links])
            for link, id_ in zip(links, ids, strict=True):
                # A dict's own copy clones its table: 90 ns, where {**link, "_id": id_}
                # inserts the keys one by one, 330 ns (71 links a benchmark page).
                doc = link.copy()
                doc["_id"] = id_
                batch.append(doc)
        if not batch:
            return 0
        try:
            return _insert(self.links, batch)
        except BulkWriteError as exc:
            _duplicates(exc)
            return int(exc.details.get("nInserted", 0))

    def page_links(
        self,
        run_id: str,
        link_counts: Mapping[str, int],
        projection: Mapping[str, Any] | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """The ``links`` documents of run ``run_id``'s pages, by page URL, in page order.

        ``link_counts`` maps each page URL to its ``pages`` document's
        ``link_count``: the links are read by their `link_id`. A ``projection``
        must keep ``source_url`` and ``position``.
        """
        found: dict[str, list[dict[str, Any]]] = {url: [] for url in link_counts}
        for ids in self._link_ids(run_id, link_counts):
            for link in self.links.find({"_id": {"$in": ids}}, projection):
                found[link["source_url"]].append(link)
        for links in found.values():
            links.sort(key=itemgetter("position"))
        return found

    def delete_run_links(self, run_id: str) -> int:
        """Delete the links of run ``run_id``'s stored pages, by `link_id`; return how many."""
        pages = self.pages.find({"run_id": run_id}, {"_id": 0, "url": 1, "link_count": 1})
        link_counts = {page["url"]: page.get("link_count", 0) for page in pages}
        return sum(
            self.links.delete_many({"_id": {"$in": ids}}).deleted_count
            for ids in self._link_ids(run_id, link_counts)
        )

    @staticmethod
    def _link_ids(run_id: str, link_counts: Mapping[str, int]) -> Iterator[list[bytes]]:
        ids = (
            id_
            for url, count in link_counts.items()
            for id_ in link_ids(run_id, url, range(count))
        )
        return batches(ids, _IDS_PER_QUERY)

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
