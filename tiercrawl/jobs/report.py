"""Reports of a campaign's latest scored run: HTML (one self-contained file), CSV, JSON.

The report never scores: a run without scores is refused with a pointer to
``tiercrawl score``, so a report always shows what the scoring job stored
(and a cron job can run both in order). When the newest finished run is not
scored yet, the latest scored run is reported with a note saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING

from tiercrawl.core.report import (
    ReportData,
    Section,
    add_history,
    csv_text,
    json_text,
    render_html,
    rows,
)
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.jobs.history import DEFAULT_RUNS, campaign_history

if TYPE_CHECKING:
    from tiercrawl.store import Store

__all__ = ["FORMATS", "load_report", "report_text"]

FORMATS = ("html", "csv", "json")


def _template() -> str:
    return resources.files("tiercrawl.jobs").joinpath("templates/report.html").read_text("utf-8")


def load_report(
    store: Store, name: str, run_id: str | None = None, history_runs: int = DEFAULT_RUNS
) -> ReportData:
    """The latest scored run of ``name`` (or run ``run_id``) with its score rows, each with
    its placement's history over the ``history_runs`` full runs up to that run
    (`tiercrawl.jobs.history`; 0: none, the history columns stay empty)."""
    runs = store.runs_of(name, rechecks=False)
    if run_id is not None:
        runs = [run for run in runs if run["_id"] == run_id]
        if not runs:
            raise TiercrawlError(f"{name}: no finished run {run_id}")
    if not runs:
        raise TiercrawlError(f"{name}: no finished run: run `tiercrawl crawl {name}` first")
    scored = next((run for run in runs if run.get("scoring")), None)
    if scored is None:
        raise TiercrawlError(
            f"{name}: run {runs[0]['_id']} is not scored yet: run `tiercrawl score {name}` first"
        )
    notes = []
    if scored is not runs[0]:
        notes.append(
            f"The newest run {runs[0]['_id']} is not scored yet; this is run {scored['_id']}. "
            f"Run `tiercrawl score {name}` to report the newest one."
        )
    table = rows(store.scores.find({"run_id": scored["_id"]}, {"_id": 0}))
    if history_runs:
        add_history(table, campaign_history(store, name, history_runs, until=scored["_id"]))
    return ReportData(campaign=name, run=scored, table=table, notes=notes)


def report_text(
    data: ReportData,
    fmt: str,
    sections: Iterable[Callable[[ReportData], Section | None]] | None = None,
) -> str:
    """The report in format ``fmt`` (one of ``FORMATS``)."""
    if fmt == "html":
        return render_html(_template(), data, sections)
    if fmt == "csv":
        return csv_text(data.table)
    if fmt == "json":
        return json_text(data.table)
    raise TiercrawlError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")
