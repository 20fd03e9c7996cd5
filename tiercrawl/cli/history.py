"""``tiercrawl history CAMPAIGN``: each placement's verdicts over the campaign's runs."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any

from tiercrawl.cli._common import (
    add_output_option,
    add_store_option,
    non_negative_int,
    open_store_from,
    write_output,
)
from tiercrawl.core.campaign import DEAL_FIELDS
from tiercrawl.core.history import MARKS, CampaignHistory, PlacementHistory
from tiercrawl.core.matching import FOUND_STATUSES
from tiercrawl.core.report import defused, guarantee, price_text
from tiercrawl.jobs.history import DEFAULT_RUNS, campaign_history

__all__ = ["add_parser", "render", "run"]

FORMATS = ("text", "json", "csv")
_CSV_FIELDS = (
    "tier",
    "url",
    "target",
    "status",
    "verdict",
    "since",
    "since_run",
    "since_or_earlier",
    "last_found",
    "first_found_run",
    "last_found_run",
    "found_runs",
    "read_runs",
    "lost",
    "timeline",
    *DEAL_FIELDS,
)


def _run_count(text: str) -> int:
    count = non_negative_int(text)
    if count == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return count


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="each placement's verdicts over the campaign's runs",
        description="For each placement of the newest run: its status in each of the newest "
        "full runs (a run's rechecks overlaid on it), since when its verdict holds, and in "
        "how many of the runs that read its page the link was found. A run that could not "
        "read the page neither ends nor starts a streak.",
    )
    parser.add_argument("campaign", help="the campaign name")
    parser.add_argument(
        "--runs",
        type=_run_count,
        default=DEFAULT_RUNS,
        metavar="N",
        help=f"how many of the newest full runs to read (default: {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--lost",
        action="store_true",
        help="only the links an earlier run found that are missing or gone now",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    add_output_option(parser, required=False)
    add_store_option(parser)
    parser.set_defaults(run=run)


def render(fmt: str, history: CampaignHistory) -> str:
    if fmt == "json":
        return json.dumps(history.to_dict(), indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        # As the report's CSV: cells defused, CRLF line ends.
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(_CSV_FIELDS)
        for placement in history.placements:
            row = history.placement_dict(placement)
            writer.writerow(
                [defused("" if row[name] is None else str(row[name])) for name in _CSV_FIELDS]
            )
        return out.getvalue()
    return _text(history)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _text(history: CampaignHistory) -> str:
    runs = history.runs
    before = f" (and {history.runs_before} earlier, not read)" if history.runs_before else ""
    lines = [f"{history.campaign}: {len(runs)} run(s), oldest first{before}"]
    for number, run in enumerate(runs, 1):
        rechecks = f" (+{len(run.rechecks)} recheck(s))" if run.rechecks else ""
        lines.append(f"  {number}. {_when(run.started_at)}  {run.run_id}{rechecks}")
    marks = ", ".join(f"{mark} {status}" for status, mark in MARKS.items())
    lines.append(f"timeline, a mark a run: {marks}, . not an entry then")
    for placement in history.placements:
        lines.append(
            f"{placement.timeline}  tier {placement.tier} {placement.url} -> {placement.target}: "
            f"{_summary(placement, history)}"
        )
    verdicts = Counter(placement.verdict or "never read" for placement in history.placements)
    counts = ", ".join(f"{count} {verdict}" for verdict, count in verdicts.most_common())
    lines.append(f"{len(history.placements)} placement(s)" + (f": {counts}" if counts else ""))
    return "\n".join(lines) + "\n"


def _summary(placement: PlacementHistory, history: CampaignHistory) -> str:
    if placement.verdict is None or placement.since is None:
        return "never read"
    runs = history.runs
    text = f"{placement.verdict} since {_when(runs[placement.since].started_at)}"
    if placement.since_or_earlier(history.runs_before):
        text += " or earlier"
    if placement.status != placement.verdict:
        text += " (not read in the newest run)"
    text += f", found in {placement.found_runs} of {placement.read_runs} run(s) that read the page"
    if placement.verdict not in FOUND_STATUSES and placement.last_found is not None:
        text += f", last found {_when(runs[placement.last_found].started_at)}"
    if placement.lost:
        text += _claim(history.placement_dict(placement))
    return text


def _claim(facts: dict[str, Any]) -> str:
    """What the campaign records of a lost link's deal: whom to claim it from, and on what."""
    parts = [f"vendor {facts['vendor']}"] if facts["vendor"] else []
    if facts["price"] is not None:
        parts.append(f"price {price_text(facts['price'])}")
    if words := guarantee(facts):
        parts.append(words)
    return "; " + ", ".join(parts) if parts else ""


def run(args: argparse.Namespace) -> int:
    store = open_store_from(args)
    try:
        history = campaign_history(store, args.campaign, args.runs)
    finally:
        store.close()
    if args.lost:
        history = replace(history, placements=tuple(p for p in history.placements if p.lost))
    write_output(args.output or "-", render(args.format, history), "history")
    return 0
