"""``tiercrawl score CAMPAIGN``: score every placement of the campaign's latest finished run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from tiercrawl.cli._common import add_store_option, open_store_from
from tiercrawl.core.campaign import load_campaign
from tiercrawl.core.scoring import merge_weights
from tiercrawl.exceptions import TiercrawlError, UsageError
from tiercrawl.jobs.score import score_run


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "score", help="score every placement of a campaign's latest finished run"
    )
    parser.add_argument("campaign", help="the campaign name")
    parser.add_argument(
        "--campaign-file",
        metavar="PATH",
        help="read brand and keywords from this campaign file (default: the stored campaign)",
    )
    parser.add_argument(
        "--weights",
        metavar="FILE",
        help="JSON or YAML mapping of component weights, e.g. {relevance: 40, support: 0}",
    )
    parser.add_argument(
        "--save-weights",
        action="store_true",
        help="store --weights with the campaign, for every later scoring of it",
    )
    parser.add_argument(
        "--run", dest="run_id", metavar="RUN_ID", help="score this run, not the latest one"
    )
    add_store_option(parser)
    parser.set_defaults(run=run)


def read_weights(path: str) -> dict[str, Any]:
    """A weights file: a JSON or YAML mapping of component name to weight."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TiercrawlError(f"{path}: cannot read weights: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise TiercrawlError(f"{path}: cannot read weights: not UTF-8 text") from exc
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TiercrawlError(f"{path}: not valid JSON/YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TiercrawlError(f"{path}: weights must be a mapping of component to number")
    merge_weights(data)
    return data


def run(args: argparse.Namespace) -> int:
    if args.save_weights and not args.weights:
        raise UsageError("--save-weights needs --weights FILE")
    weights = read_weights(args.weights) if args.weights else None
    campaign = load_campaign(args.campaign_file) if args.campaign_file else None
    if campaign is not None and campaign.name != args.campaign:
        raise UsageError(f"{args.campaign_file} is campaign {campaign.name}, not {args.campaign}")
    store = open_store_from(args)
    try:
        if args.save_weights and not store.campaigns.count_documents(
            {"name": args.campaign}, limit=1
        ):
            raise TiercrawlError(
                f"{args.campaign}: no stored campaign to save weights with "
                "(push it first, or pass --weights on each run)"
            )
        summary = score_run(
            store, args.campaign, campaign=campaign, weights=weights, run_id=args.run_id
        )
        if args.save_weights:  # only once they have scored a run
            store.campaigns.update_one(
                {"name": args.campaign}, {"$set": {"score_weights": weights}}
            )
    finally:
        store.close()
    means = ", ".join(f"tier {t} {m:.1f}" for t, m in summary.mean_by_tier.items())
    print(f"run {summary.run_id}: {summary.scored} placements scored (average {means or '-'})")
    if summary.flags:
        print("flags: " + ", ".join(f"{n} {flag}" for flag, n in summary.flags.most_common()))
    if not summary.keywords_known:
        print(
            "note: no brand or keywords known for this campaign (no stored campaign and no "
            "--campaign-file): relevance uses page text only, anchors are not classified by keyword"
        )
    return 0
