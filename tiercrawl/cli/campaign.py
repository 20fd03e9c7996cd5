"""``tiercrawl campaign push FILE`` and ``tiercrawl campaign list``: campaigns stored in MongoDB.

A Scrapyd node cannot read the user's campaign file, so the file is validated
here and stored in ``campaigns`` as ``{name, campaign, pushed_at}``; the
spider then loads it by name (``scrapy crawl tiers -a campaign=NAME``).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tiercrawl.cli._common import add_store_option, open_store_from
from tiercrawl.core.campaign import load_campaign

if TYPE_CHECKING:
    from tiercrawl.core.campaign import Campaign
    from tiercrawl.store import Store

__all__ = ["push_campaign"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("campaign", help="store campaigns for Scrapyd nodes to crawl")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    push = actions.add_parser("push", help="validate a campaign file and store it by name")
    push.add_argument("file", help="a campaign file (.yaml/.yml/.csv)")
    push.add_argument("--name", default=None, help="store it under this name (CSV: the stem)")
    push.add_argument(
        "--money-site", default=None, help="the money site (CSV: the tier-1 targets' domain)"
    )
    add_store_option(push)
    push.set_defaults(run=run_push)
    listing = actions.add_parser("list", help="the stored campaigns")
    add_store_option(listing)
    listing.set_defaults(run=run_list)


def push_campaign(store: Store, campaign: Campaign) -> bool:
    """Store ``campaign`` under its name, replacing an older push; True if the name is new."""
    result = store.campaigns.update_one(
        {"name": campaign.name},
        {"$set": {"campaign": campaign.to_dict(), "pushed_at": datetime.now(UTC)}},
        upsert=True,
    )
    return result.upserted_id is not None


def run_push(args: argparse.Namespace) -> int:
    # Validate before connecting: a bad file is refused even where no database is reachable.
    campaign = load_campaign(args.file, name=args.name, money_site=args.money_site)
    store = open_store_from(args)
    created = push_campaign(store, campaign)
    print(
        f"campaign {campaign.name} {'stored' if created else 'replaced'}: "
        f"{len(campaign.tier1)} tier-1 and {len(campaign.tier2)} tier-2 entries, "
        f"{len(campaign.pages())} pages"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = open_store_from(args)
    for doc in store.campaigns.find({}, {"name": 1, "pushed_at": 1, "campaign": 1}).sort("name"):
        spec = doc["campaign"]
        print(
            f"{doc['name']}\tpushed {doc['pushed_at']:%Y-%m-%d %H:%M:%S}Z\t"
            f"{len(spec.get('tier1', []))} tier-1, {len(spec.get('tier2', []))} tier-2"
        )
    return 0
