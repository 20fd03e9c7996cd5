from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import chromium_path
from tests.test_score_job import CAMPAIGN, MONEY, build_run
from tiercrawl.cli import main
from tiercrawl.core.report import (
    COLUMNS,
    SECTIONS,
    ReportData,
    Section,
    csv_text,
    guarantee,
    rows,
    svg_bars,
    under_guarantee,
)
from tiercrawl.jobs.report import load_report, report_text
from tiercrawl.jobs.score import score_run
from tiercrawl.settings import TIERCRAWL_BROWSER_ARGS
from tiercrawl.store import Store

EVIL = "https://evil.example/p"
SCRIPT_ANCHOR = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
FORMULA_ANCHOR = '=HYPERLINK("http://x.example","win")'


@pytest.fixture
def scored_store(store: Store) -> Store:
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    run = build_run(store)
    run.page(EVIL, 1, "Cordless drill deals </title><script>window.__pwned = 3</script>")
    run.placement(1, EVIL, MONEY, "live", run.link(EVIL, MONEY, 0, anchor_text=SCRIPT_ANCHOR))
    formula = "https://formula.example/p"
    run.page(formula, 1, "A page about power drills.")
    run.placement(
        1, formula, MONEY, "live", run.link(formula, MONEY, 0, anchor_text=FORMULA_ANCHOR)
    )
    score_run(store, "acme")
    return store


def test_report_refuses_an_unscored_run(
    store: Store, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build_run(store)
    assert main(["report", "acme", "--mongo-uri", mongo_uri, "-o", "x.html"]) == 1
    assert capsys.readouterr().err == (
        "tiercrawl report: acme: run run-1 is not scored yet: run `tiercrawl score acme` first\n"
    )


def test_newer_unscored_run_is_named_in_a_note(scored_store: Store) -> None:
    build_run(scored_store, "run-2", age=-1)
    data = load_report(scored_store, "acme")
    assert data.run["_id"] == "run-1"
    assert data.notes == [
        (
            "The newest run run-2 is not scored yet; this is run run-1. "
            "Run `tiercrawl score acme` to report the newest one."
        )
    ]


def test_csv_and_json_are_flat_and_defuse_formulas(
    scored_store: Store, tmp_path: Path, mongo_uri: str
) -> None:
    csv_path, json_path = tmp_path / "r.csv", tmp_path / "r.json"
    for fmt, path in (("csv", csv_path), ("json", json_path)):
        assert (
            main(["report", "acme", "--mongo-uri", mongo_uri, "--format", fmt, "-o", str(path)])
            == 0
        )
    table = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert tuple(table[0]) == COLUMNS
    assert len(table) == 8
    by_url = {row["url"]: row for row in table}
    assert by_url[EVIL]["anchor_text"] == SCRIPT_ANCHOR
    assert by_url["https://formula.example/p"]["anchor_text"] == "'" + FORMULA_ANCHOR
    records = json.loads(json_path.read_text(encoding="utf-8"))
    assert len(records) == 8
    assert all(set(record) == set(COLUMNS) for record in records)
    assert all(not isinstance(v, dict | list) for record in records for v in record.values())
    blog = next(r for r in records if r["url"] == "https://blog.example.org/drills")
    assert blog["support_live"] == 1
    assert blog["tier"] == 1
    assert blog["flags"] == ""  # 3 found tier-1 links: too few for an anchor profile
    # JSON keeps the text as it is: escaping is the HTML report's business.
    assert (
        next(r for r in records if r["url"] == "https://formula.example/p")["anchor_text"]
        == FORMULA_ANCHOR
    )


def test_history_runs_zero_leaves_the_history_columns_empty(
    scored_store: Store, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = ["report", "acme", "--mongo-uri", mongo_uri, "--format", "json", "-o", "-"]
    assert main(report) == 0
    assert {r["timeline"] for r in json.loads(capsys.readouterr().out)} == {"L", "N", "M", "E"}
    assert main([*report, "--history-runs", "0"]) == 0
    assert {r["timeline"] for r in json.loads(capsys.readouterr().out)} == {None}


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (
            {"since": "2026-06-30T02:00:00+00:00"},
            "lost under the guarantee (until 2026-06-30): claim it",
        ),
        ({"since": "2026-07-01T02:00:00+00:00"}, "lost after the guarantee ended (2026-06-30)"),
        ({"since": "2026-07-01T02:00:00+00:00", "guaranteed_until": None}, ""),
    ],
)
def test_a_lost_link_is_claimable_until_its_guarantee_ends(
    row: dict[str, Any], words: str
) -> None:
    lost = {"lost": True, "guaranteed_until": "2026-06-30", **row}
    assert guarantee(lost) == words
    assert under_guarantee(lost) is words.endswith("claim it")


def test_html_escapes_crawled_text(scored_store: Store) -> None:
    page = report_text(load_report(scored_store, "acme"), "html")
    assert "<script>window" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert page.count("<script>") == 1
    assert "http://" not in page.split("<body>")[0].replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "<link" not in page
    assert "src=" not in page.replace("src=x", "")


def test_html_ids_are_unique(scored_store: Store) -> None:
    page = report_text(load_report(scored_store, "acme"), "html")
    ids = re.findall(r'\sid="([^"]*)"', page)
    assert "placements" in ids
    assert sorted(ids) == sorted(set(ids))


def test_sections_can_be_added(scored_store: Store) -> None:
    from tiercrawl.core.report import SECTIONS

    def changes(data: ReportData) -> Section:
        return Section("changes", "Changes since last run", f"<p>{len(data.table)} rows</p>")

    page = report_text(load_report(scored_store, "acme"), "html", sections=[*SECTIONS, changes])
    assert '<section id="changes"><h2>Changes since last run</h2><p>8 rows</p></section>' in page
    assert '<a href="#changes">Changes since last run</a>' in page


def test_svg_bars_draws_one_bar_per_item() -> None:
    svg = svg_bars([("a<b", 2), ("c", 4)], title="t")
    assert svg.count("<rect") == 2
    assert "a&lt;b" in svg
    assert 'width="370"' in svg  # the longest bar spans 560 - 130 - 60


def test_rows_are_sorted_and_flat() -> None:
    table = rows(
        [
            {"tier": 2, "url": "b", "target": "t", "score": 1, "flags": ["x", "y"], "rel": ["a"]},
            {"tier": 1, "url": "z", "target": "t", "score": 2, "components": {"anchor": 0.5}},
        ]
    )
    assert [r["url"] for r in table] == ["z", "b"]
    assert table[1]["flags"] == "x;y"
    assert table[0]["anchor"] == 0.5
    assert csv_text(table).splitlines()[0] == ",".join(COLUMNS)


@pytest.mark.requires_browser
def test_html_report_in_headless_chromium(
    scored_store: Store, tmp_path: Path, mongo_uri: str
) -> None:
    from playwright.sync_api import sync_playwright

    browser_path = chromium_path()
    assert browser_path, "Chromium not found (set TIERCRAWL_BROWSER_PATH)"
    report = tmp_path / "report.html"
    assert (
        main(["report", "acme", "--mongo-uri", mongo_uri, "--format", "html", "-o", str(report)])
        == 0
    )
    data = load_report(scored_store, "acme")
    live = sum(1 for row in data.table if row["status"] == "live")
    with sync_playwright() as playwright:
        # The crawl's own arguments: Chromium then looks none of its services up.
        browser = playwright.chromium.launch(
            executable_path=browser_path, args=list(TIERCRAWL_BROWSER_ARGS)
        )
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(report.as_uri())
            tiles = {
                el.get_attribute("data-metric"): el.inner_text().split("\n")[0]
                for el in page.query_selector_all(".tile")
            }
            assert tiles["placements"] == "8"
            assert tiles["live"] == str(live)
            assert tiles["page error"] == "1"
            assert tiles["avg score tier 1"] == f"{data.mean_score(1):.1f}"
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.evaluate("document.scripts.length") == 1
            anchor_cell = page.locator(f'#placements tr:has(a[href="{EVIL}"]) td:nth-child(11)')
            assert anchor_cell.inner_text() == SCRIPT_ANCHOR
            assert page.locator("svg rect").count() >= 10
            # Every status cell of the tier-1 table has its colour marker.
            statuses = page.eval_on_selector_all(
                'td[class^="st-"]',
                "cells => cells.map(c => [c.className, getComputedStyle(c).borderLeftWidth])",
            )
            assert {"st-live", "st-nofollow", "st-page_error"} <= {s for s, _ in statuses}
            assert {width for _, width in statuses} == {"3px"}
            # Sorting by score: a click sorts ascending, the lowest first.
            page.click("#placements th:nth-child(5)")
            first = page.locator("#placements tbody tr td:nth-child(5)").first.inner_text()
            assert float(first) == min(row["score"] for row in data.table)
            assert errors == []
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert shot.stat().st_size > 20_000
        finally:
            browser.close()


def test_every_csv_text_cell_is_defused_and_a_lone_cr_stays_in_its_cell() -> None:
    import csv
    import io

    table = rows(
        [
            {
                "tier": 1,
                "url": "https://blog.example.org/p",
                "target": "t",
                "score": -1.5,
                "rel": ["@sum(1+1)*cmd|x"],
                "anchor_class": "=hyperlink()",
                "explanation": "one\rtwo",
            }
        ]
    )
    (row,) = csv.DictReader(io.StringIO(csv_text(table), newline=""))
    assert row["rel"] == "'@sum(1+1)*cmd|x"
    assert row["anchor_class"] == "'=hyperlink()"
    assert row["explanation"] == "one\rtwo"
    assert row["score"] == "-1.5"  # a number, not text: left as it is


def _section(name: str, data: ReportData) -> str | None:
    """The body of the report's section made by ``name``, None when it has none."""
    make = next(make for make in SECTIONS if make.__name__ == name)
    section = make(data)
    return None if section is None else section.body


def _anchors_section(anchors: dict[str, Any], table: list[dict[str, Any]]) -> str:
    """The body of the report's anchor section, for the run's ``scoring.anchors``."""
    body = _section("_anchors", ReportData("acme", {"scoring": {"anchors": anchors}}, table))
    assert body is not None
    return body


def _deal_row(vendor: str | None, status: str, **deal: Any) -> dict[str, Any]:
    return {"vendor": vendor, "status": status, "lost": False, "price": None, **deal}


def test_vendors_are_summed_up_by_how_their_links_fare() -> None:
    lost = {"lost": True, "since": "2026-06-01T00:00:00+00:00"}
    table = [
        _deal_row("Outreach Co", "live", price=100),
        _deal_row("Outreach Co", "missing", price=49.9, guaranteed_until="2026-06-30", **lost),
        _deal_row("Outreach Co", "page_error", guaranteed_until="2026-01-31", **lost),
        _deal_row("acme <links>", "nofollow"),
        _deal_row(None, "live", price=500),
    ]
    body = _section("_vendors", ReportData("acme", {}, table))
    assert body is not None
    outreach = (
        '<tr><td>Outreach Co</td><td class="n">3</td><td class="n">1</td><td class="n">2</td>'
        '<td class="n">1</td><td class="n">149.90</td><td class="n">49.90</td></tr>'
    )
    links = (
        '<tr><td>acme &lt;links&gt;</td><td class="n">1</td><td class="n">1</td>'
        '<td class="n">0</td><td class="n">0</td><td class="n"></td><td class="n"></td></tr>'
    )
    assert body.index(links) < body.index(outreach)  # by name, whatever its case
    assert body.count("<tr><td>") == 2  # no row for placements without a vendor
    assert _section("_vendors", ReportData("acme", {}, [_deal_row(None, "live")])) is None


def test_the_overuse_warning_gives_the_count() -> None:
    table = [{"tier": 1, "anchor_class": c} for c in ["exact_match"] * 4 + ["branded"] * 6]
    body = _anchors_section({"1": {"exact_match_overuse": True, "exact_match_share": 0.4}}, table)
    assert (
        '<p class="warn">exact_match_overuse: 4 of 10 found tier-1 anchors (40%) are '
        "exact-match keywords</p>"
    ) in body


def test_tier1_pages_whose_tier2_anchors_overuse_keywords_are_named() -> None:
    table = [{"tier": 2, "anchor_class": "exact_match"}]
    pages = [
        {"target": f"https://guest{n}.example/<post>", "exact_match": 9, "found": 12}
        for n in range(12)
    ]
    body = _anchors_section({"2": {"exact_match_overuse": False, "overused_pages": pages}}, table)
    assert (
        '<p class="warn">exact_match_overuse: 9 of 12 found tier-2 anchors to '
        "https://guest0.example/&lt;post&gt; (75%) are exact-match keywords</p>"
    ) in body
    assert "guest9.example" in body
    assert "guest10.example" not in body
    assert "… and 2 more tier-1 pages" in body
    assert "found tier-2 anchors (" not in body  # the pool does not overuse them


def test_rows_carry_their_history_up_to_the_reported_run(store: Store) -> None:
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    build_run(store, "run-1")
    newer = build_run(store, "run-2", age=-1)
    moved_on = "https://moved.example/p"
    newer.page(moved_on, 1, "A page about power drills.")
    newer.placement(1, moved_on, MONEY, "missing", None)
    twin = "https://twin.example.net/drills"
    deal = {"vendor": "Outreach Co", "guaranteed_until": "2026-06-30", "price": 49.9}
    store.placements.update_one(
        {"run_id": "run-2", "url": twin}, {"$set": {"status": "missing", "link": None, **deal}}
    )
    score_run(store, "acme")
    build_run(store, "run-3", age=-2)  # newer than the report's run: not in its history
    data = load_report(store, "acme")
    assert data.run["_id"] == "run-2"
    by_url = {row["url"]: row for row in data.table}
    blog = by_url["https://blog.example.org/drills"]
    assert (blog["timeline"], blog["found_runs"], blog["read_runs"]) == ("LL", 2, 2)
    assert blog["since"] == "2026-01-11T00:00:00+00:00"
    gone = by_url["https://gone.example.com/post"]
    assert (gone["timeline"], gone["found_runs"]) == ("EE", 0)
    assert (by_url[moved_on]["timeline"], by_url[moved_on]["since"]) == (
        ".M",
        "2026-01-12T00:00:00+00:00",
    )
    lost = by_url[twin]
    assert (lost["timeline"], lost["last_found"]) == ("LM", "2026-01-11T00:00:00+00:00")
    page = report_text(data, "html")
    assert '<td data-v="2026-01-11T00:00:00+00:00">2026-01-11 00:00</td>' in page
    assert ">LL</code>" in page
    # Lost links: the twin only; the page gone in both runs, or never linking, lost nothing.
    lost_section = page.split('<section id="lost">', 1)[1].split("</section>", 1)[0]
    assert lost_section.count("<tr><td>") == 1
    assert f">{twin}</a>" in lost_section
    assert "<td>2026-01-12 00:00</td><td>2026-01-11 00:00</td>" in lost_section
    assert (
        "<td>Outreach Co</td><td>49.90</td>"
        "<td>lost under the guarantee (until 2026-06-30): claim it</td>" in (lost_section)
    )
    assert "; 1 lost under the guarantee" in lost_section
    assert (
        "Their recorded prices: 49.90 in all (1 priced), 49.90 of it lost under a guarantee."
        in lost_section
    )
    assert (lost["vendor"], lost["guaranteed_until"], lost["price"]) == (
        "Outreach Co",
        "2026-06-30",
        49.9,
    )
    # Fewer runs, or none: the history reads only those.
    one_run = {row["url"]: row for row in load_report(store, "acme", history_runs=1).table}
    assert (one_run[twin]["timeline"], one_run[twin]["lost"]) == ("M", False)
    assert one_run[twin]["since_or_earlier"] is True  # run-1, which found it, was not read
    none = load_report(store, "acme", history_runs=0)
    assert all(row["timeline"] is None for row in none.table)
    assert '<section id="lost">' not in report_text(none, "html")
