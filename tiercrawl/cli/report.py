"""``tiercrawl report CAMPAIGN --format html|csv|json -o PATH``: a report of the latest scored run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tiercrawl.cli._common import (
    add_output_option,
    add_store_option,
    non_negative_int,
    open_store_from,
    write_output,
)
from tiercrawl.jobs.diff import report_sections
from tiercrawl.jobs.history import DEFAULT_RUNS
from tiercrawl.jobs.report import FORMATS, load_report, report_text


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="write a report of the latest scored run")
    parser.add_argument("campaign", help="the campaign name")
    parser.add_argument("--format", choices=FORMATS, default="html", help="default: html")
    add_output_option(parser, required=True)
    parser.add_argument(
        "--run", dest="run_id", metavar="RUN_ID", help="report this run, not the latest scored"
    )
    parser.add_argument(
        "--history-runs",
        type=non_negative_int,
        default=DEFAULT_RUNS,
        metavar="N",
        help="full runs up to the reported one that each placement's history reads "
        f"(default: {DEFAULT_RUNS}; 0: no history, as a big campaign's quick report)",
    )
    add_store_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = open_store_from(args)
    try:
        data = load_report(store, args.campaign, args.run_id, args.history_runs)
        # Only the HTML report shows the changes; CSV and JSON stay one row per placement.
        sections = (
            report_sections(store, args.campaign, data.run["_id"])
            if args.format == "html"
            else None
        )
    finally:
        store.close()
    for note in data.notes:
        print(f"note: {note}", file=sys.stderr)
    write_output(args.output, report_text(data, args.format, sections), "report")
    if args.output != "-":
        print(
            f"{args.format} report of run {data.run['_id']} ({len(data.table)} placements): "
            f"{args.output}"
        )
    return 0
