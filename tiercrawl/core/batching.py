"""Cutting a stream into lists of a bounded size, for batched queries and writes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

__all__ = ["batches"]

T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), consumed lazily."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
