from __future__ import annotations

from datetime import datetime

import pytest

from tiercrawl.core.history import (
    CampaignHistory,
    HistoryRun,
    PlacementHistory,
    history_key,
    placement_histories,
)

URL = "https://blog.example/post"
TARGET = "https://acme.example/drills/"


def history(*statuses: str | None) -> PlacementHistory:
    return PlacementHistory(1, URL, TARGET, statuses)


def test_a_link_lost_after_two_live_runs_is_missing_since_the_run_that_saw_it_gone() -> None:
    lost = history("live", "live", "missing", "missing")
    assert (lost.status, lost.verdict, lost.since) == ("missing", "missing", 2)
    assert (lost.found_runs, lost.read_runs) == (2, 4)
    assert (lost.first_found, lost.last_found) == (0, 1)
    assert lost.timeline == "LLMM"


@pytest.mark.parametrize(
    ("statuses", "verdict", "since"),
    [
        # An unread run proves nothing: the streak goes on through it.
        (("live", "inconclusive", "live"), "live", 0),
        # The newest run unread: the verdict is the last run that read the page.
        (("missing", "live", "inconclusive"), "live", 1),
        # An unread run before the first read one: the streak starts at the read one.
        (("inconclusive", "nofollow", "nofollow"), "nofollow", 1),
        # A run without the entry checked nothing: the streak starts after it.
        (("live", None, "live"), "live", 2),
        (("nofollow", "live", "live"), "live", 1),
    ],
)
def test_since_passes_over_unread_runs_only(
    statuses: tuple[str | None, ...], verdict: str, since: int
) -> None:
    placement = history(*statuses)
    assert (placement.verdict, placement.since) == (verdict, since)


def test_a_page_never_read_has_no_verdict() -> None:
    unread = history(None, "inconclusive", "inconclusive")
    assert (unread.status, unread.verdict, unread.since) == ("inconclusive", None, None)
    assert (unread.found_runs, unread.read_runs, unread.first_found) == (0, 0, None)
    assert unread.timeline == ".??"


def test_every_found_status_counts_as_found_and_unknown_statuses_are_marked() -> None:
    placement = history("live", "nofollow", "not_indexable", "page_error", "blocked")
    assert placement.found_runs == 3
    assert placement.read_runs == 5
    assert placement.timeline == "LNIEx"
    assert placement.last_found == 2


def test_entries_in_other_url_forms_share_a_key() -> None:
    written = "https://www.blog.example/post/?utm_source=x"
    assert history_key(1, written, TARGET) == history_key(1, URL, TARGET)
    assert history_key(2, written, TARGET) != history_key(1, written, TARGET)


def test_to_dict_names_runs_and_dates() -> None:
    runs = (
        HistoryRun("r1", datetime(2026, 1, 1, 6, 0)),
        HistoryRun("r2", datetime(2026, 1, 8, 6, 0), ("r2-recheck",)),
    )
    deals = {(1, URL, TARGET): {"vendor": "Guest Post Guild", "price": 150.0}}
    doc = CampaignHistory("acme", runs, (history("live", "missing"),), deals=deals).to_dict()
    assert doc["runs"][1] == {
        "run_id": "r2",
        "started_at": "2026-01-08T06:00:00",
        "rechecks": ["r2-recheck"],
    }
    (placement,) = doc["placements"]
    assert placement == {
        "tier": 1,
        "url": URL,
        "target": TARGET,
        "status": "missing",
        "verdict": "missing",
        "since": "2026-01-08T06:00:00",
        "since_run": "r2",
        "since_or_earlier": False,
        "last_found": "2026-01-01T06:00:00",
        "first_found_run": "r1",
        "last_found_run": "r1",
        "found_runs": 1,
        "read_runs": 2,
        "lost": True,
        "timeline": "LM",
        "statuses": ["live", "missing"],
        "vendor": "Guest Post Guild",
        "guaranteed_until": None,  # what the campaign does not record
        "price": 150.0,
    }


def test_histories_join_an_entry_rewritten_in_another_form_and_drop_removed_ones() -> None:
    rewritten = "https://www.blog.example/post/"
    other = "https://blog.example/other"
    histories = placement_histories(
        {
            (1, URL, TARGET): ["live", "missing", None],
            (1, rewritten, TARGET): [None, None, "live"],
            (1, other, TARGET): ["live", None, None],  # no longer an entry
            (2, URL, TARGET): [None, None, "nofollow"],  # new: another tier is another entry
        }
    )
    assert [(h.tier, h.url, h.timeline) for h in histories] == [
        (1, rewritten, "LML"),
        (2, URL, "..N"),
    ]


@pytest.mark.parametrize(
    ("statuses", "lost"),
    [
        (("live", "missing"), True),
        (("nofollow", "page_error", "inconclusive"), True),  # the last read says gone
        (("missing", "missing"), False),  # never found: nothing to restore
        (("live", "missing", "live"), False),
        (("live", "inconclusive"), False),
    ],
)
def test_lost_is_a_link_found_once_and_absent_at_the_last_read(
    statuses: tuple[str, ...], lost: bool
) -> None:
    assert history(*statuses).lost is lost


def test_a_verdict_from_the_first_run_read_may_hold_from_earlier_runs() -> None:
    always = history("live", "live")
    assert always.since_or_earlier(3)
    assert not always.since_or_earlier(0)  # the first run read is the campaign's first
    assert not history("missing", "live").since_or_earlier(3)
    assert history("inconclusive", "live").since_or_earlier(3)  # the unread run proves nothing
    assert not history(None, "live").since_or_earlier(3)  # not an entry then
    runs = (HistoryRun("r1", datetime(2026, 1, 1)), HistoryRun("r2", datetime(2026, 1, 8)))
    doc = CampaignHistory("acme", runs, (always,), runs_before=3).to_dict()
    assert doc["runs_before"] == 3
    assert doc["placements"][0]["since_or_earlier"] is True
