"""The store's links: exactly once by a derived ``_id``, found through one non-unique index."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from tiercrawl.store import Store, open_store
from tiercrawl.store.mongo import link_id
from tiercrawl.testing import link_document

PAGE = "https://blog.example.org/best-drills"
OTHER_PAGE = "https://blog.example.org/best-saws"
TARGET = "https://www.acme.example/drills/"
LINK_INDEX = [("run_id", 1), ("source_url", 1)]
OLD_UNIQUE_INDEX = [("run_id", 1), ("source_url", 1), ("position", 1)]


def _link(run_id: str, source_url: str, position: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "campaign": "acme",
        **link_document(source_url, f"{TARGET}?p={position}", position),
    }


def test_a_resent_batch_of_links_inserts_nothing(store: Store) -> None:
    batch = [_link("run-1", PAGE, position) for position in range(3)]
    assert store.insert_links(batch) == 3
    assert store.insert_links(batch) == 0
    assert store.links.count_documents({}) == 3


def test_a_batch_overlapping_a_stored_one_inserts_only_its_new_links(store: Store) -> None:
    store.insert_links([_link("run-1", PAGE, position) for position in range(3)])
    overlapping = [_link("run-1", PAGE, position) for position in range(2, 5)]
    assert store.insert_links(overlapping) == 2
    stored = store.links.find({"run_id": "run-1", "source_url": PAGE}).sort("position", 1)
    assert [doc["position"] for doc in stored] == [0, 1, 2, 3, 4]


def test_the_same_position_in_two_runs_or_on_two_pages_is_two_links(store: Store) -> None:
    batch = [_link("run-1", PAGE, 0), _link("run-2", PAGE, 0), _link("run-1", OTHER_PAGE, 0)]
    assert store.insert_links(batch) == 3
    assert store.links.count_documents({"position": 0}) == 3


def test_stored_links_carry_their_link_id_and_the_callers_dicts_stay_unchanged(
    store: Store,
) -> None:
    batch = [_link("run-1", PAGE, 0), _link("run-1", PAGE, 1)]
    store.insert_links(batch)
    assert all("_id" not in doc for doc in batch)
    stored = store.links.find({"run_id": "run-1"}, {"_id": 1, "position": 1}).sort("position", 1)
    assert [doc["_id"] for doc in stored] == [link_id("run-1", PAGE, 0), link_id("run-1", PAGE, 1)]


def test_link_id_is_16_bytes_and_the_same_for_the_same_link() -> None:
    first = link_id("run-1", PAGE, 7)
    assert isinstance(first, bytes)
    assert len(first) == 16
    assert link_id("run-1", PAGE, 7) == first


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("run-1", PAGE, 0), ("run-2", PAGE, 0)),
        (("run-1", PAGE, 0), ("run-1", OTHER_PAGE, 0)),
        (("run-1", PAGE, 0), ("run-1", PAGE, 1)),
        # Fields that concatenate alike: the run id / URL boundary moved.
        (("run-1", "https://a.example/", 0), ("run-1h", "ttps://a.example/", 0)),
        # The URL / position boundary moved.
        (("run-1", "https://a.example/p1", 2), ("run-1", "https://a.example/p", 12)),
        # A run id that imitates a length prefix.
        (("2:ab", "c", 0), ("2", ":abc", 0)),
    ],
)
def test_link_id_differs_for_different_links(
    one: tuple[str, str, int], other: tuple[str, str, int]
) -> None:
    assert link_id(*one) != link_id(*other)


def test_links_has_the_id_index_and_a_non_unique_run_and_page_index(store: Store) -> None:
    indexes = store.links.index_information()
    assert sorted(indexes) == ["_id_", "run_id_1_source_url_1"]
    assert list(indexes["run_id_1_source_url_1"]["key"]) == LINK_INDEX
    assert not indexes["run_id_1_source_url_1"].get("unique", False)


@pytest.mark.parametrize(
    "query",
    [
        # jobs.diff: one page's links, and the links of several pages of a run.
        {"run_id": "run-1", "source_url": PAGE},
        {"run_id": "run-1", "source_url": {"$in": [PAGE, OTHER_PAGE]}},
        # jobs.retention: every link of a run.
        {"run_id": "run-1"},
    ],
)
def test_every_links_query_of_the_jobs_scans_the_run_and_page_index(
    store: Store, query: dict[str, Any]
) -> None:
    store.insert_links([_link("run-1", PAGE, 0), _link("run-1", OTHER_PAGE, 0)])
    plan = store.links.find(query).sort("position", 1).explain()["queryPlanner"]["winningPlan"]
    while "inputStage" in plan:
        plan = plan["inputStage"]
    assert plan["stage"] == "IXSCAN"
    assert plan["indexName"] == "run_id_1_source_url_1"


def test_opening_a_database_with_the_old_unique_link_index_drops_it_and_keeps_the_links(
    mongo_uri: str,
) -> None:
    old = open_store(mongo_uri)
    old.links.create_index(OLD_UNIQUE_INDEX, unique=True)
    old_links = [_link("run-1", PAGE, position) for position in range(3)]
    old.links.insert_many(old_links)  # as before: ObjectId _ids
    old.close()

    store = open_store(mongo_uri)
    store.ensure_indexes()
    indexes = store.links.index_information()
    assert sorted(indexes) == ["_id_", "run_id_1_source_url_1"]
    stored = list(store.links.find({"run_id": "run-1", "source_url": PAGE}).sort("position", 1))
    assert [doc["position"] for doc in stored] == [0, 1, 2]
    assert all(isinstance(doc["_id"], ObjectId) for doc in stored)
    # A link of the old run written again now gets its derived _id.
    assert store.insert_links([_link("run-1", PAGE, 3)]) == 1
    store.close()

    # Opening it again finds nothing more to change.
    again = open_store(mongo_uri)
    again.ensure_indexes()
    assert sorted(again.links.index_information()) == ["_id_", "run_id_1_source_url_1"]
    assert again.links.count_documents({}) == 4
    again.close()
