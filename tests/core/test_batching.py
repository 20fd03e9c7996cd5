from __future__ import annotations

from itertools import count

from tiercrawl.core.batching import batches


def test_items_come_in_lists_of_the_size_the_last_one_shorter() -> None:
    assert list(batches(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(batches(range(4), 2)) == [[0, 1], [2, 3]]


def test_no_items_give_no_batch() -> None:
    assert list(batches([], 3)) == []


def test_items_are_taken_only_as_batches_are_asked_for() -> None:
    endless = batches(count(), 3)
    assert next(endless) == [0, 1, 2]
    assert next(endless) == [3, 4, 5]
