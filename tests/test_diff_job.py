"""The diff job over a real store: which runs, streamed joins, rechecks, retention, the CLI.

Each test runs twice: on runs stored with their placement digests (as
`compute_placements` writes them) and on runs stored without (from before
digests existed), which the job reads from their documents.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tiercrawl.cli import main
from tiercrawl.core.report import SECTIONS
from tiercrawl.jobs.diff import changes_between, plan_diff, recheck_keys, report_sections
from tiercrawl.jobs.placements import digest_row, write_digests
from tiercrawl.jobs.retention import RUN_COLLECTIONS, apply_retention, runs_to_remove
from tiercrawl.store import Store
from tiercrawl.testing import link_document

CAMPAIGN = "jobs"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = "https://acme.example/drills/"


def add_run(
    store: Store, run_id: str, day: int, recheck_of: str | None = None, **extra: Any
) -> None:
    store.runs.insert_one(
        {
            "_id": run_id,
            "campaign": CAMPAIGN,
            "status": "finished",
            "started_at": T0 + timedelta(days=day),
            "finished_at": T0 + timedelta(days=day, hours=1),
            "recheck_of": recheck_of,
            **extra,
        }
    )


def placement(run_id: str, url: str, status: str = "live", **extra: Any) -> dict[str, Any]:
    found = status in ("live", "nofollow", "not_indexable")
    return {
        "run_id": run_id,
        "campaign": CAMPAIGN,
        "tier": 1,
        "url": url,
        "target": TARGET,
        "found": found,
        "link": {"url": TARGET, "anchor_text": "Acme drills", "rel": [], "region": "content"}
        if found
        else None,
        "link_count": int(found),
        "status": status,
        "reason": f"because {status}",
        "expected_anchor": None,
        "anchor_matches": None,
        "page_status": 200,
        "page_error": None,
        **extra,
    }


_DIGESTS = {"write": True}


@pytest.fixture(autouse=True, params=["digests", "documents"])
def _digests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_DIGESTS, "write", request.param == "digests")


def put(store: Store, run_id: str, statuses: dict[str, str], **extra: Any) -> None:
    store.placements.insert_many(
        [
            placement(run_id, f"https://blog.example/{name}", s, **extra)
            for name, s in statuses.items()
        ]
    )
    if _DIGESTS["write"]:
        rows = [digest_row(doc) for doc in store.placements.find({"run_id": run_id})]
        write_digests(store, run_id, CAMPAIGN, rows)


def kinds(store: Store, **kwargs: Any) -> dict[str, set[tuple[str, str]]]:
    _, changes = changes_between(store, CAMPAIGN, **kwargs)
    found: dict[str, set[tuple[str, str]]] = {}
    for change in changes:
        found.setdefault(change.url.rsplit("/", 1)[1], set()).add((change.kind, change.state))
    return found


def test_default_is_the_newest_run_against_the_one_before(store: Store) -> None:
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    add_run(store, "c", 3)
    put(store, "a", {"p1": "live"})
    put(store, "b", {"p1": "live"})
    put(store, "c", {"p1": "missing"})
    plan = plan_diff(store, CAMPAIGN)
    assert (plan.baseline, plan.newer, plan.prior) == ("b", "c", None)
    assert kinds(store) == {"p1": {("lost", "alert")}}
    assert kinds(store, from_run="a", to_run="b") == {}


def test_a_first_run_or_an_unknown_run_is_refused(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    add_run(store, "a", 1)
    assert main(["diff", CAMPAIGN, "--mongo-uri", mongo_uri_of(store)]) == 1
    assert "no earlier finished run" in capsys.readouterr().err
    assert main(["diff", CAMPAIGN, "--to", "nope", "--mongo-uri", mongo_uri_of(store)]) == 1
    assert "no finished run nope" in capsys.readouterr().err


def mongo_uri_of(store: Store) -> str:
    host, port = store.client.address  # type: ignore[misc]
    return f"mongodb://{host}:{port}/{store.db.name}"


def test_recheck_settles_the_alerts_against_the_baseline(store: Store) -> None:
    add_run(store, "base", 1)
    add_run(store, "full", 2)
    put(store, "base", {"gone": "live", "flaky": "live", "blocked": "live", "fine": "live"})
    put(store, "full", {"gone": "missing", "flaky": "missing", "fine": "live"})
    put(store, "full", {"blocked": "inconclusive"}, page_status=503)
    assert recheck_keys(store, CAMPAIGN, "full") == {
        (1, "https://blog.example/gone", TARGET),
        (1, "https://blog.example/flaky", TARGET),
        (1, "https://blog.example/blocked", TARGET),
    }
    add_run(store, "re", 3, recheck_of="full")
    put(store, "re", {"gone": "missing", "flaky": "live", "blocked": "missing"})
    plan = plan_diff(store, CAMPAIGN)
    assert (plan.baseline, plan.newer, plan.prior) == ("base", "re", "full")
    assert kinds(store) == {
        "gone": {("lost", "confirmed")},
        "flaky": {("lost", "withdrawn")},
        "blocked": {("lost", "confirmed")},
    }
    # The next full run is compared with the rechecked state: the loss is not news.
    add_run(store, "next", 4)
    put(store, "next", {"gone": "missing", "flaky": "live", "blocked": "missing", "fine": "live"})
    plan = plan_diff(store, CAMPAIGN)
    assert (plan.older, plan.newer) == (("full", "re"), "next")
    assert kinds(store) == {}


def test_an_unread_baseline_is_compared_from_the_last_run_that_read_the_page(
    store: Store,
) -> None:
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    add_run(store, "c", 3)
    put(store, "a", {"had": "live", "never": "missing", "back": "missing", "still": "live"})
    unread = {"had": "inconclusive", "never": "inconclusive", "back": "inconclusive"}
    put(store, "b", {**unread, "still": "inconclusive"}, page_status=503)
    put(store, "c", {"had": "missing", "never": "missing", "back": "live"})
    put(store, "c", {"still": "inconclusive"}, page_status=503)
    assert kinds(store) == {
        "had": {("lost", "alert")},  # seen in a, unread in b, gone in c
        "back": {("recovered", "info")},
        "still": {("unverified", "unverified")},  # unread twice: still no verdict
    }


def test_a_recheck_that_cannot_read_the_page_withdraws_nothing(store: Store) -> None:
    add_run(store, "base", 1)
    add_run(store, "full", 2)
    put(store, "base", {"gone": "live"})
    put(store, "full", {"gone": "missing"})
    add_run(store, "re", 3, recheck_of="full")
    put(store, "re", {"gone": "inconclusive"}, page_status=503)
    assert kinds(store) == {"gone": {("unverified", "unverified"), ("lost", "alert")}}


def test_scores_pages_and_url_form_edits_in_one_streamed_diff(store: Store) -> None:
    add_run(store, "a", 1, scoring={"scored_at": T0})
    add_run(store, "b", 2, scoring={"scored_at": T0})
    put(store, "a", {"scored": "live", "noindexed": "live", "slash": "live"})
    put(store, "b", {"scored": "live", "noindexed": "not_indexable"})
    # The campaign entry was rewritten with a trailing slash and a tracking parameter.
    put(store, "b", {"slash/?utm_source=x": "live"})
    for run_id, score in (("a", 80), ("b", 55)):
        store.scores.insert_one(
            {
                "run_id": run_id,
                "tier": 1,
                "url": "https://blog.example/scored",
                "target": TARGET,
                "score": score,
                "components": {"relevance": score / 100},
            }
        )
    for run_id, reasons in (("a", []), ("b", ["noindex"])):
        store.pages.insert_one(
            {
                "run_id": run_id,
                "url": "https://blog.example/noindexed",
                "indexable": not reasons,
                "indexability": reasons,
                "meta_robots": reasons,
            }
        )
    assert kinds(store) == {
        "scored": {("score_changed", "alert")},
        "noindexed": {("indexability_changed", "alert")},
    }


@pytest.mark.parametrize("recheck", [False, True])
def test_a_page_placing_the_same_anchor_twice_loses_one_link_not_retargets_it(
    store: Store, recheck: bool
) -> None:
    # /two links the drills and the saws with one anchor; the drills link goes. The saws
    # target redirects: the page links its new address, found through the redirect.
    saws, saws_now = "https://acme.example/saws/", "https://acme.example/saws-2/"
    url = "https://blog.example/two"
    saws_link = link_document(url, saws_now, 0, anchor_text="Acme drills")
    runs = ["a", "b", "c"] if recheck else ["a", "b"]
    for day, run_id in enumerate(runs, 1):
        add_run(store, run_id, day, recheck_of="b" if run_id == "c" else None)
        store.placements.insert_one(placement(run_id, url, target=saws, link=saws_link))
        put(store, run_id, {"two": "live" if run_id == "a" else "missing"})
    newest = runs[-1]
    store.pages.insert_one({"run_id": newest, "url": url, "link_count": 1})
    store.insert_links([{**saws_link, "run_id": newest, "campaign": CAMPAIGN}])
    _, changes = changes_between(store, CAMPAIGN)
    state = "confirmed" if recheck else "alert"
    assert [(c.kind, c.state, c.target) for c in changes] == [("lost", state, TARGET)]


def test_csv_defuses_crawled_text(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    put(store, "a", {"p1": "live"})
    put(store, "b", {"p1": "missing"}, reason='=HYPERLINK("http://x.example/","click")')
    assert main(["diff", CAMPAIGN, "--format", "csv", "--mongo-uri", mongo_uri_of(store)]) == 4
    out = capsys.readouterr().out
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["reason"] == '\'=HYPERLINK("http://x.example/","click")'
    assert out.endswith("\r\n")


def test_control_characters_reach_no_terminal(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    put(store, "a", {"p1": "live"})
    put(store, "b", {"p1": "missing"}, reason="gone\x1b]0;owned\x07\x1b[2J")
    assert main(["diff", CAMPAIGN, "--mongo-uri", mongo_uri_of(store)]) == 4
    out = capsys.readouterr().out
    assert "(gone\\u001b]0;owned\\u0007\\u001b[2J)" in out
    assert not any(ord(c) < 0x20 and c != "\n" for c in out)


def test_report_gets_a_changes_section_when_an_earlier_run_exists(store: Store) -> None:
    add_run(store, "a", 1)
    assert report_sections(store, CAMPAIGN, "a") == SECTIONS
    add_run(store, "b", 2)
    put(store, "a", {"p1": "live"})
    put(store, "b", {"p1": "missing"}, reason="<script>alert(1)</script>")
    section = report_sections(store, CAMPAIGN, "b")[1](None)  # type: ignore[arg-type]
    assert section is not None
    assert section.title == "Changes since the last run"
    assert "<script>" not in section.body
    assert "&lt;script&gt;alert(1)" in section.body
    assert "<td>lost</td><td>alert</td>" in section.body


def fill(store: Store, run_id: str) -> None:
    put(store, run_id, {"p": "live"})
    write_digests(store, run_id, CAMPAIGN, [(1, "https://blog.example/p", TARGET, "live", "d")])
    store.pages.insert_one({"run_id": run_id, "url": "https://blog.example/p", "link_count": 1})
    store.insert_links([{"run_id": run_id, **link_document("https://blog.example/p", TARGET, 0)}])
    store.scores.insert_one({"run_id": run_id, "tier": 1, "url": "u", "target": "t"})


def test_retention_keeps_the_newest_runs_and_their_rechecks_without_orphans(store: Store) -> None:
    for day, run_id, parent in [
        (1, "r1", None),
        (2, "r2", None),
        (3, "r2-re", "r2"),
        (4, "r3", None),
        (5, "r3-re", "r3"),
        (6, "r3-re-re", "r3-re"),
    ]:
        add_run(store, run_id, day, recheck_of=parent)
        fill(store, run_id)
    store.runs.insert_one({"_id": "live-now", "campaign": CAMPAIGN, "status": "running"})
    assert runs_to_remove(store, CAMPAIGN, 0) == []
    assert apply_retention(store, CAMPAIGN, 1) == ["r2-re", "r2", "r1"]
    kept = {"r3", "r3-re", "r3-re-re", "live-now"}
    assert {run["_id"] for run in store.runs.find()} == kept
    for collection in RUN_COLLECTIONS:
        assert set(store.db[collection].distinct("run_id")) == kept - {"live-now"}, collection


def test_retention_removes_the_links_a_failed_run_stored_without_their_page(
    store: Store,
) -> None:
    for day, run_id, status in [(1, "crashed", "failed"), (2, "done", "finished")]:
        add_run(store, run_id, day, status=status)
        fill(store, run_id)
    # Links written before a crash stopped their page's write: no page counts them.
    stray = link_document("https://blog.example/lost", TARGET, 0)
    store.insert_links([{"run_id": "crashed", **stray}])
    add_run(store, "newest", 3)
    fill(store, "newest")
    assert apply_retention(store, CAMPAIGN, 1) == ["done", "crashed"]
    assert store.links.distinct("run_id") == ["newest"]


def test_retention_counts_finished_runs_only(store: Store) -> None:
    for day, run_id, status in [
        (1, "old", "finished"),
        (2, "base", "finished"),
        (3, "broken", "failed"),
        (4, "new", "finished"),
    ]:
        add_run(store, run_id, day, status=status)
        fill(store, run_id)
    # Two finished runs kept, so that diff has its baseline; the failed one between them too.
    assert runs_to_remove(store, CAMPAIGN, 2) == ["old"]
    assert runs_to_remove(store, CAMPAIGN, 3) == []
