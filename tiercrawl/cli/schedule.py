"""``tiercrawl schedule CAMPAIGN --node URL [--node URL ...]``: one crawl across Scrapyd nodes.

The campaign's pages are split by registered domain (`tiercrawl.core.shards`),
the run and its shards are stored in the shared MongoDB, and one ``tiers`` job
per shard is queued through each node's HTTP API, all with the same run id.
The command returns once the jobs are queued; ``tiercrawl status`` follows them.
"""

from __future__ import annotations

import argparse
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from tiercrawl.campaigns import is_campaign_file, open_campaign
from tiercrawl.cli._common import (
    add_settings_option,
    add_store_option,
    check_settings,
    open_store_from,
    scrapyd_nodes,
    store_uri,
)
from tiercrawl.cli.campaign import push_campaign
from tiercrawl.core.shards import plan_shards
from tiercrawl.exceptions import TiercrawlError, UsageError
from tiercrawl.jobs.runs import create_sharded_run, lose_shard, set_shard_job
from tiercrawl.scrapyd import ScrapydError, ScrapydNode

if TYPE_CHECKING:
    from tiercrawl.store import Store

SPIDER = "tiers"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schedule", help="crawl a campaign on one or more Scrapyd nodes, split by site"
    )
    parser.add_argument(
        "campaign", help="a stored campaign, or a campaign file (pushed first, then scheduled)"
    )
    parser.add_argument(
        "--node",
        action="append",
        required=True,
        metavar="URL",
        help="a Scrapyd node, http://[USER:PASS@]host:6800/ (repeat for each node; credentials "
        "may also come from TIERCRAWL_SCRAPYD_USERNAME/TIERCRAWL_SCRAPYD_PASSWORD)",
    )
    parser.add_argument(
        "--project", default="tiercrawl", help="the Scrapyd project (default: tiercrawl)"
    )
    add_settings_option(parser, "a Scrapy/tiercrawl setting for every job (repeatable)")
    add_store_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tiercrawl.spiders.tiers import new_run_id

    check_settings(args.set)
    if store_uri(args) is None:
        raise UsageError(
            "schedule needs the MongoDB the nodes share: give --mongo-uri or set "
            "TIERCRAWL_MONGO_URI (each node's TIERCRAWL_MONGO_URI must name the same database)"
        )
    nodes = scrapyd_nodes(args.node)
    campaign, store = open_campaign(args.campaign, lambda: open_store_from(args))
    # Refuse before anything is stored or queued if a node is down or lacks the project.
    for node in nodes:
        if SPIDER not in node.list_spiders(args.project):
            raise ScrapydError(
                f"{node.url}: project {args.project} has no {SPIDER} spider "
                "(deploy it with scrapyd-deploy)"
            )
    if is_campaign_file(args.campaign):
        push_campaign(store, campaign)
        print(f"schedule: campaign {campaign.name} pushed from {args.campaign}")
    shards = plan_shards(campaign.pages(), len(nodes))
    used = nodes[: len(shards)]
    run_id = new_run_id(campaign.name)
    create_sharded_run(
        store, run_id, campaign, shards, nodes=[node.url for node in used], project=args.project
    )
    _queue(store, args, run_id, campaign.name, used)
    print(f"schedule: run {run_id}, {len(shards)} shard(s)")
    for shard, node in zip(shards, used, strict=True):
        print(
            f"  shard {shard.index}: {node.url} job {_job_id(run_id, shard.index)}, "
            f"{shard.page_count} pages on {len(shard.domains)} site(s)"
        )
    if len(shards) < len(nodes):
        idle = ", ".join(node.url for node in nodes[len(shards) :])
        print(f"  idle (fewer sites than nodes): {idle}")
    print(f"schedule: follow it with `tiercrawl status {run_id}`")
    return 0


def _job_id(run_id: str, index: int) -> str:
    return f"{run_id}-s{index}"


def _queue(
    store: Store, args: argparse.Namespace, run_id: str, campaign: str, nodes: list[ScrapydNode]
) -> None:
    """Queue one job per shard; if a node refuses, cancel the queued ones and fail the run."""
    queued: list[tuple[ScrapydNode, str]] = []
    for index, node in enumerate(nodes):
        job_id = _job_id(run_id, index)
        try:
            node.schedule(
                args.project,
                SPIDER,
                job_id=job_id,
                args={"campaign": campaign, "run_id": run_id, "shard": str(index)},
                settings=args.set,
            )
        except ScrapydError as exc:
            for done_node, done_job in queued:
                # Best effort: its shard is marked failed below either way.
                with suppress(ScrapydError):
                    done_node.cancel(args.project, done_job)
            for shard in range(len(nodes)):
                lose_shard(store, run_id, shard, f"not scheduled: {exc}")
            raise TiercrawlError(
                f"run {run_id} failed: shard {index} could not be queued", exc.problems
            ) from exc
        set_shard_job(store, run_id, index, job_id)
        queued.append((node, job_id))
