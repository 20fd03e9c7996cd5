"""The store's links: exactly once by a derived ``_id``, and found by it."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import BulkWriteError, DocumentTooLarge

from tiercrawl.store import Store, open_store
from tiercrawl.store.mongo import _insert, link_id, link_ids
from tiercrawl.testing import link_document

PAGE = "https://blog.example.org/best-drills"
OTHER_PAGE = "https://blog.example.org/best-saws"
TARGET = "https://www.acme.example/drills/"
OLD_RUN_PAGE_INDEX = [("run_id", 1), ("source_url", 1)]
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


def test_a_batch_over_what_one_command_may_hold_is_written_whole(store: Store) -> None:
    # 60 links of 300 KB: 18 MB, over the 16 MB of one insert command.
    batch = [{**_link("run-1", PAGE, n), "context": "x" * 300_000} for n in range(60)]
    assert store.insert_links(batch) == 60
    assert store.insert_links(batch) == 0
    assert store.links.count_documents({}) == 60


def test_a_link_over_the_document_limit_is_refused(store: Store) -> None:
    # pymongo refuses it before sending (DocumentTooLarge), or the server does: the
    # sink then writes its page apart, as store_refused (tests/test_pipelines.py).
    with pytest.raises((DocumentTooLarge, BulkWriteError)):
        store.insert_links([{**_link("run-1", PAGE, 0), "context": "x" * 17_000_000}])
    assert store.links.count_documents({}) == 0


def test_an_insert_the_store_refuses_raises_as_insert_many_would(store: Store) -> None:
    refused = {"_id": {"$x": 1}}  # no $-prefixed field inside an _id
    with pytest.raises(BulkWriteError) as raised:
        _insert(store.links, [{"_id": 1}, refused])
    assert raised.value.details["nInserted"] == 1
    assert [error["index"] for error in raised.value.details["writeErrors"]] == [1]
    assert store.links.count_documents({}) == 1


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


def test_link_ids_stay_those_of_stored_runs() -> None:
    """Stored links are read back and deleted by their id: a version that computed
    them differently would lose every run stored before it."""
    assert link_id("run-1", "https://blog.example/post", 3).hex() == (
        "3fb9b15ee5f4199ef464f7f59ef91383"
    )
    assert list(link_ids("run-1", PAGE, range(3))) == [link_id("run-1", PAGE, n) for n in range(3)]


def test_a_batch_of_several_pages_keys_each_link_by_its_own_page(store: Store) -> None:
    batch = [_link("run-1", PAGE, 0), _link("run-1", PAGE, 1), _link("run-1", OTHER_PAGE, 0)]
    assert store.insert_links(batch) == 3
    stored = {(doc["source_url"], doc["position"]): doc["_id"] for doc in store.links.find()}
    assert stored == {
        (PAGE, 0): link_id("run-1", PAGE, 0),
        (PAGE, 1): link_id("run-1", PAGE, 1),
        (OTHER_PAGE, 0): link_id("run-1", OTHER_PAGE, 0),
    }


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


def test_links_keep_only_their_id_index(store: Store) -> None:
    store.insert_links([_link("run-1", PAGE, 0)])
    assert sorted(store.links.index_information()) == ["_id_"]


def test_page_links_reads_each_pages_links_in_order_and_nothing_else(store: Store) -> None:
    store.insert_links(
        [_link("run-1", PAGE, position) for position in (2, 0, 1)]
        + [_link("run-1", OTHER_PAGE, 0), _link("run-2", PAGE, 0), _link("run-2", PAGE, 1)]
    )
    found = store.page_links("run-1", {PAGE: 3, OTHER_PAGE: 0}, {"_id": 0})
    assert [link["position"] for link in found[PAGE]] == [0, 1, 2]
    assert {link["run_id"] for link in found[PAGE]} == {"run-1"}
    # A link_count of 0 reads none of the page's links.
    assert found[OTHER_PAGE] == []


def test_page_links_queries_more_ids_than_one_query_takes(store: Store) -> None:
    store.insert_links([_link("run-1", PAGE, position) for position in range(1500)])
    found = store.page_links("run-1", {PAGE: 1500}, {"_id": 0, "source_url": 1, "position": 1})
    assert [link["position"] for link in found[PAGE]] == list(range(1500))


def test_links_found_by_link_id_are_read_through_the_id_index(store: Store) -> None:
    store.insert_links([_link("run-1", PAGE, 0), _link("run-1", OTHER_PAGE, 0)])
    query = {"_id": {"$in": [link_id("run-1", PAGE, 0)]}}
    plan = store.links.find(query).explain()["queryPlanner"]["winningPlan"]
    while "inputStage" in plan:
        plan = plan["inputStage"]
    assert plan["stage"] == "IXSCAN"
    assert plan["indexName"] == "_id_"


def test_delete_run_links_deletes_the_links_of_the_runs_pages_only(store: Store) -> None:
    store.insert_links(
        [_link("run-1", PAGE, position) for position in range(3)]
        + [_link("run-1", OTHER_PAGE, 0), _link("run-2", PAGE, 0)]
    )
    store.pages.insert_many(
        [
            {"run_id": "run-1", "url": PAGE, "link_count": 3},
            {"run_id": "run-1", "url": OTHER_PAGE, "link_count": 1},
            {"run_id": "run-2", "url": PAGE, "link_count": 1},
        ]
    )
    assert store.delete_run_links("run-1") == 4
    assert [doc["run_id"] for doc in store.links.find({})] == ["run-2"]


@pytest.mark.parametrize(
    ("keys", "options"),
    [(OLD_UNIQUE_INDEX, {"unique": True}), (OLD_RUN_PAGE_INDEX, {})],
)
def test_opening_a_database_with_an_old_link_index_drops_it_and_rekeys_the_links(
    mongo_uri: str, keys: list[tuple[str, int]], options: dict[str, Any]
) -> None:
    old = open_store(mongo_uri)
    old.links.create_index(keys, **options)
    # As the earliest version stored them: ObjectId _ids; one link already derived.
    old.links.insert_many([_link("run-1", PAGE, position) for position in range(3)])
    old.insert_links([_link("run-1", OTHER_PAGE, 0)])
    old.close()

    store = open_store(mongo_uri)
    store.ensure_indexes()
    assert sorted(store.links.index_information()) == ["_id_"]
    assert sorted(doc["_id"] for doc in store.links.find({}, {"_id": 1})) == sorted(
        [link_id("run-1", PAGE, position) for position in range(3)]
        + [link_id("run-1", OTHER_PAGE, 0)]
    )
    found = store.page_links("run-1", {PAGE: 3}, {"_id": 0})
    assert [link["position"] for link in found[PAGE]] == [0, 1, 2]
    assert found[PAGE][0]["anchor_text"] == "cordless drills"
    store.close()

    # Opening it again finds nothing more to change.
    again = open_store(mongo_uri)
    again.ensure_indexes()
    assert sorted(again.links.index_information()) == ["_id_"]
    assert again.links.count_documents({}) == 4
    again.close()


def test_upsert_many_inserts_new_documents_and_replaces_those_with_a_taken_key(
    store: Store,
) -> None:
    first = [{"run_id": "run-1", "url": url, "status": 200} for url in (PAGE, OTHER_PAGE)]
    store.upsert_many("pages", first, key=("run_id", "url"))
    again = [
        {"run_id": "run-1", "url": OTHER_PAGE, "status": 404},  # taken: replaced
        {"run_id": "run-1", "url": TARGET, "status": 200},  # new
        {"run_id": "run-2", "url": PAGE, "status": 500},  # new: another run
    ]
    store.upsert_many("pages", again, key=("run_id", "url"))
    stored = store.pages.find({}, {"_id": 0}).sort([("run_id", 1), ("url", 1)])
    assert [(doc["run_id"], doc["url"], doc["status"]) for doc in stored] == [
        ("run-1", PAGE, 200),
        ("run-1", OTHER_PAGE, 404),
        ("run-1", TARGET, 200),
        ("run-2", PAGE, 500),
    ]
    assert all("_id" not in doc for doc in first + again)
