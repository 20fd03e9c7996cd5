"""The garbage-collector extension."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pydispatch import dispatcher
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from tiercrawl.extensions import GarbageCollection


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_engine_start_freezes_and_raises_the_young_threshold() -> None:
    crawler = get_crawler(settings_dict={"TIERCRAWL_GC_THRESHOLD": 12345})
    extension = GarbageCollection.from_crawler(crawler)
    receivers = dispatcher.getAllReceivers(crawler.signals.sender, signals.engine_started)
    assert extension.engine_started in [receiver() for receiver in receivers]
    older = gc.get_threshold()[1:]
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    extension.engine_started()

    assert gc.get_freeze_count() > 1000  # the modules and objects alive at that point
    assert gc.get_threshold() == (12345, *older)


@pytest.mark.usefixtures("restored_gc")
def test_each_setting_can_be_turned_off() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    crawler = get_crawler(settings_dict={"TIERCRAWL_GC_FREEZE": False})
    GarbageCollection.from_crawler(crawler).engine_started()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (20_000, *before[1:])

    crawler = get_crawler(settings_dict={"TIERCRAWL_GC_THRESHOLD": 0})
    gc.set_threshold(*before)
    GarbageCollection.from_crawler(crawler).engine_started()
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold() == before


def test_both_off_disables_the_extension() -> None:
    crawler = get_crawler(
        settings_dict={"TIERCRAWL_GC_FREEZE": False, "TIERCRAWL_GC_THRESHOLD": 0}
    )
    with pytest.raises(NotConfigured):
        GarbageCollection.from_crawler(crawler)
