"""The history job and ``tiercrawl history`` over a real store: runs, rechecks, URL forms."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.test_diff_job import CAMPAIGN, TARGET, add_run, mongo_uri_of, placement, put
from tiercrawl.cli import main
from tiercrawl.jobs.history import campaign_history
from tiercrawl.store import Store

BLOG = "https://blog.example"


def timelines(store: Store, runs: int = 14) -> dict[str, str]:
    history = campaign_history(store, CAMPAIGN, runs)
    return {p.url.removeprefix(BLOG): p.timeline for p in history.placements}


@pytest.fixture
def three_runs(store: Store) -> Store:
    """Runs a, b, c (days 1 to 3) and a recheck of c; p4 left the campaign after b."""
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    add_run(store, "c", 3)
    add_run(store, "c-recheck", 4, recheck_of="c")
    put(store, "a", {"p1": "live", "p2": "live", "p4": "live"})
    put(store, "b", {"p1": "live", "p2": "inconclusive", "p4": "nofollow"})
    put(store, "c", {"p1": "missing", "p2": "inconclusive", "p3": "live"})
    put(store, "c-recheck", {"p1": "missing", "p2": "live"})
    return store


def test_each_placement_of_the_newest_run_with_its_statuses(three_runs: Store) -> None:
    history = campaign_history(three_runs, CAMPAIGN)
    assert [(run.run_id, run.rechecks) for run in history.runs] == [
        ("a", ()),
        ("b", ()),
        ("c", ("c-recheck",)),
    ]
    # p2's recheck read the page the run could not; p4 is no longer an entry.
    assert timelines(three_runs) == {"/p1": "LLM", "/p2": "L?L", "/p3": "..L"}
    p1, p2, p3 = history.placements
    assert (p1.verdict, p1.since, p1.last_found) == ("missing", 2, 1)
    assert (p2.verdict, p2.since, p2.found_runs, p2.read_runs) == ("live", 0, 2, 2)
    assert (p3.since, p3.first_found) == (2, 2)


def test_runs_limits_the_history_to_the_newest_full_runs(
    three_runs: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert timelines(three_runs, runs=2) == {"/p1": "LM", "/p2": "?L", "/p3": ".L"}
    assert timelines(three_runs, runs=1) == {"/p1": "M", "/p2": "L", "/p3": "L"}
    assert campaign_history(three_runs, CAMPAIGN, 2).runs_before == 1
    # p2 is live in the one run that read it: maybe since the run before them too.
    assert main(["history", CAMPAIGN, "--mongo-uri", mongo_uri_of(three_runs), "--runs", "2"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"{CAMPAIGN}: 2 run(s), oldest first (and 1 earlier, not read)"
    (p2,) = [line for line in text if "/p2 " in line]
    assert ": live since 2026-01-04 00:00 or earlier, found in 1 of 1 run(s)" in p2


def test_an_entry_rewritten_in_another_url_form_keeps_its_history(store: Store) -> None:
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    put(store, "a", {"p1": "live"})
    store.placements.insert_one(placement("b", "https://www.blog.example/p1/", "nofollow"))
    (rewritten,) = campaign_history(store, CAMPAIGN).placements
    assert (rewritten.url, rewritten.statuses) == (
        "https://www.blog.example/p1/",
        ("live", "nofollow"),
    )


def test_cli_formats(three_runs: Store, capsys: pytest.CaptureFixture[str]) -> None:
    uri = mongo_uri_of(three_runs)
    assert main(["history", CAMPAIGN, "--mongo-uri", uri]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"{CAMPAIGN}: 3 run(s), oldest first"
    assert text[3] == "  3. 2026-01-04 00:00  c (+1 recheck(s))"
    assert f"LLM  tier 1 {BLOG}/p1 -> {TARGET}: missing since 2026-01-04 00:00, " in text[5]
    assert text[5].endswith(
        "found in 2 of 3 run(s) that read the page, last found 2026-01-03 00:00"
    )
    assert text[-1] == "3 placement(s): 2 live, 1 missing"

    assert main(["history", CAMPAIGN, "--mongo-uri", uri, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["url"], r["verdict"], r["since_run"], r["timeline"]) for r in rows] == [
        (f"{BLOG}/p1", "missing", "c", "LLM"),
        (f"{BLOG}/p2", "live", "a", "L?L"),
        (f"{BLOG}/p3", "live", "c", "..L"),
    ]

    assert main(["history", CAMPAIGN, "--mongo-uri", uri, "--format", "json", "--runs", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [run["run_id"] for run in doc["runs"]] == ["b", "c"]
    assert doc["placements"][1]["statuses"] == ["inconclusive", "live"]


def test_cli_lists_only_lost_links_with_lost(
    three_runs: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = mongo_uri_of(three_runs)
    assert main(["history", CAMPAIGN, "--mongo-uri", uri, "--lost", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["url"], r["lost"], r["last_found"]) for r in rows] == [
        (f"{BLOG}/p1", "True", "2026-01-03T00:00:00+00:00")
    ]


def test_a_lost_link_comes_with_the_deal_its_campaign_records(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    deal = {"vendor": "Guest Post Guild", "guaranteed_until": "2026-01-31", "price": 150.0}
    spec = {
        "tier1": [
            {"url": f"{BLOG}/p1", "target": TARGET, **deal},
            {"url": f"{BLOG}/p3", "target": TARGET},
        ]
    }
    add_run(store, "a", 1)
    add_run(store, "b", 2, campaign_spec=spec)  # the newest run's campaign is the one read
    put(store, "a", {"p1": "live", "p3": "live"})
    put(store, "b", {"p1": "missing", "p3": "live"})
    uri = mongo_uri_of(store)
    assert main(["history", CAMPAIGN, "--mongo-uri", uri]) == 0
    lines = capsys.readouterr().out.splitlines()
    lost = next(line for line in lines if f"{BLOG}/p1 " in line)
    assert lost.endswith(
        "last found 2026-01-02 00:00; vendor Guest Post Guild, price 150, "
        "lost under the guarantee (until 2026-01-31): claim it"
    )
    assert next(line for line in lines if f"{BLOG}/p3 " in line).endswith("that read the page")
    assert main(["history", CAMPAIGN, "--mongo-uri", uri, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["vendor"], r["guaranteed_until"], r["price"]) for r in rows] == [
        ("Guest Post Guild", "2026-01-31", "150.0"),
        ("", "", ""),
    ]


def test_cli_refuses_no_runs_and_a_zero_run_count(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = mongo_uri_of(store)
    assert main(["history", CAMPAIGN, "--mongo-uri", uri]) == 1
    assert f"{CAMPAIGN}: no finished run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["history", CAMPAIGN, "--mongo-uri", uri, "--runs", "0"])
    assert exit_info.value.code == 2
    assert "--runs: must be 1 or more" in capsys.readouterr().err
