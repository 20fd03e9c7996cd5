"""``tiercrawl diff CAMPAIGN``: what changed between two runs, with exit codes for cron and CI.

Exit codes (documented in docs/monitoring.md):

* 0: no regression and nothing unverified
* 3: confirmed regressions (a recheck saw them again)
* 4: regressions seen once, or placements left unverified: run
  ``tiercrawl crawl --recheck CAMPAIGN`` and diff again
* 5: the ``--webhook`` delivery failed (the payload is kept on disk)
* 1 and 2 as for every command: a problem (no such run, no store), a usage error
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from tiercrawl.cli._common import (
    add_output_option,
    add_store_option,
    open_store_from,
    write_output,
)
from tiercrawl.core.diff import Change, shown
from tiercrawl.core.report import defused
from tiercrawl.core.urls import hide_credentials, http_url_problem
from tiercrawl.exceptions import UsageError
from tiercrawl.jobs.diff import DiffPlan, changes_between

__all__ = ["EXIT_ALERTS", "EXIT_CONFIRMED", "EXIT_WEBHOOK", "add_parser", "run"]

EXIT_CONFIRMED = 3
EXIT_ALERTS = 4
EXIT_WEBHOOK = 5
FORMATS = ("text", "json", "csv")
_CSV_FIELDS = ("kind", "state", "severity", "tier", "url", "target", "old", "new", "reason")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="what changed between two runs of a campaign",
        description="The typed changes of each placement between two finished runs "
        "(default: the newest against the one before). Exit codes: 0 nothing wrong, "
        "3 confirmed regressions, 4 regressions awaiting a recheck or unverified "
        "placements, 5 webhook not delivered.",
    )
    parser.add_argument("campaign", help="the campaign name")
    parser.add_argument("--from", dest="from_run", metavar="RUN", help="the older run id")
    parser.add_argument("--to", dest="to_run", metavar="RUN", help="the newer run id")
    parser.add_argument("--format", choices=FORMATS, default="text")
    add_output_option(parser, required=False)
    parser.add_argument("--webhook", metavar="URL", help="also POST the changes as JSON here")
    add_store_option(parser)
    parser.set_defaults(run=run)


def summarise(changes: Sequence[Change]) -> dict[str, Any]:
    """Counts by state and by kind: what a cron job or a webhook receiver acts on."""
    states = Counter(change.state for change in changes)
    return {
        "changes": len(changes),
        "confirmed": states["confirmed"],
        "alerts": states["alert"],
        "unverified": states["unverified"],
        "withdrawn": states["withdrawn"],
        "by_kind": dict(sorted(Counter(change.kind for change in changes).items())),
    }


def exit_code(summary: dict[str, Any]) -> int:
    if summary["confirmed"]:
        return EXIT_CONFIRMED
    if summary["alerts"] or summary["unverified"]:
        return EXIT_ALERTS
    return 0


def payload(plan: DiffPlan, changes: Sequence[Change]) -> dict[str, Any]:
    """The JSON document of a diff: the webhook body and ``--format json``."""
    return {
        "diff": plan.to_dict(),
        "summary": summarise(changes),
        "changes": [change.to_dict() for change in changes],
    }


def render(fmt: str, plan: DiffPlan, changes: Sequence[Change]) -> str:
    if fmt == "json":
        return json.dumps(payload(plan, changes), indent=2, default=str) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        # As the report's CSV: crawled text (anchors, contexts) defused, CRLF line ends.
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([*_CSV_FIELDS, "evidence"])
        for change in changes:
            row = change.to_dict()
            writer.writerow(
                [defused(_cell(row[name])) for name in _CSV_FIELDS]
                + [json.dumps(change.evidence, default=str)]
            )
        return out.getvalue()
    return _text(plan, changes)


def _cell(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


def _text(plan: DiffPlan, changes: Sequence[Change]) -> str:
    older = plan.baseline + (f" (+{len(plan.older) - 1} recheck(s))" if plan.older[1:] else "")
    recheck = f", rechecking {plan.prior}" if plan.prior else ""
    lines = [f"{plan.campaign}: {older} -> {plan.newer}{recheck}"]
    for change in changes:
        evidence = "; ".join(
            f"{name}: {_cell(values['old'])} -> {_cell(values['new'])}"
            for name, values in change.evidence.items()
        )
        reason = f" ({change.reason})" if change.reason else ""
        lines.append(
            f"{change.kind} [{change.state}] tier {change.tier} {change.url} -> {change.target}: "
            f"{shown(change.old)} -> {shown(change.new)}{reason}"
            + (f"\n    {evidence}" if evidence else "")
        )
    summary = summarise(changes)
    lines.append(
        f"{summary['changes']} change(s): {summary['confirmed']} confirmed, "
        f"{summary['alerts']} alert(s) awaiting a recheck, {summary['unverified']} unverified, "
        f"{summary['withdrawn']} withdrawn"
    )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from tiercrawl.webhook import WebhookError, deliver

    # Refused before the diff: a webhook found bad at the end would lose the run's alert.
    problem = args.webhook and http_url_problem(args.webhook)
    if args.webhook and not problem and urlsplit(args.webhook).username is not None:
        problem = "user:password@ is not supported, put the receiver's token in the path or query"
    if problem:
        raise UsageError(f"--webhook {hide_credentials(args.webhook)}: {problem}")
    if args.from_run is not None and args.from_run == args.to_run:
        raise UsageError(f"--from and --to are the same run, {args.to_run}: nothing to compare")
    store = open_store_from(args)
    try:
        plan, stream = changes_between(store, args.campaign, args.from_run, args.to_run)
        changes = list(stream)
    finally:
        store.close()
    write_output(args.output or "-", render(args.format, plan, changes), "diff")
    code = exit_code(summarise(changes))
    if args.webhook:
        try:
            delivery = deliver(args.webhook, payload(plan, changes))
        except WebhookError as exc:
            print(f"tiercrawl diff: {exc}", file=sys.stderr)
            return EXIT_WEBHOOK
        print(
            f"tiercrawl diff: webhook delivered (HTTP {delivery.status}, "
            f"{delivery.attempts} attempt(s))",
            file=sys.stderr,
        )
    return code
