"""Run bookkeeping: one ``runs`` document per crawl, split into shards or not.

A single-process crawl finishes its run when its spider closes. A crawl
scheduled on several Scrapyd nodes (``tiercrawl schedule``) shares one run id
between its shards; ``runs.shards`` holds each shard's node, job, registered
domains and status. Each shard marks itself done atomically, and the shard
that completes the set computes the placements of the whole campaign, as a
tier-2 page's target may have been crawled by another node. So every
placement is written exactly once, after every page is stored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tiercrawl.core.campaign import campaign_from_dict
from tiercrawl.core.shards import SHARD_DONE, merge_stats, run_status
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.jobs.placements import compute_placements

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tiercrawl.core.campaign import Campaign
    from tiercrawl.core.shards import Shard
    from tiercrawl.store import Store

__all__ = [
    "abandoned",
    "close_run",
    "create_sharded_run",
    "fail_abandoned",
    "fail_run",
    "load_shard",
    "lose_shard",
    "set_shard_job",
    "start_shard",
]

logger = logging.getLogger(__name__)

# pymongo's ReturnDocument.AFTER, without importing pymongo outside tiercrawl.store.
_RETURN_AFTER = True
_UNDONE = {"$nin": sorted(SHARD_DONE)}


def create_sharded_run(
    store: Store,
    run_id: str,
    campaign: Campaign,
    shards: Sequence[Shard],
    *,
    nodes: Sequence[str],
    project: str,
) -> None:
    """Store a run whose shard ``i`` is crawled on ``nodes[i]``, before any job is scheduled."""
    store.runs.insert_one(
        {
            "_id": run_id,
            "campaign": campaign.name,
            "campaign_spec": campaign.to_dict(),
            "scrapyd_project": project,
            "started_at": datetime.now(UTC),
            "finished_at": None,
            "status": "running",
            "stats": {},
            "shards": [
                {
                    "index": shard.index,
                    "node": node,
                    "job_id": None,
                    "domains": list(shard.domains),
                    "page_count": shard.page_count,
                    "status": "pending",
                    "started_at": None,
                    "finished_at": None,
                }
                for shard, node in zip(shards, nodes, strict=True)
            ],
        }
    )


def set_shard_job(store: Store, run_id: str, index: int, job_id: str) -> None:
    store.runs.update_one({"_id": run_id}, {"$set": {f"shards.{index}.job_id": job_id}})


def load_shard(store: Store, run_id: str, index: int) -> tuple[Campaign, list[str]]:
    """The campaign as scheduled, and the registered domains shard ``index`` crawls.

    The campaign comes from the run, not from ``campaigns``: a push made while
    the run is under way must not change what its shards crawl.
    """
    run = store.runs.find_one({"_id": run_id}, {"campaign_spec": 1, "shards": 1})
    if run is None or not run.get("shards"):
        raise TiercrawlError(
            f"run {run_id} is not a scheduled run (schedule one with `tiercrawl schedule`)"
        )
    if not 0 <= index < len(run["shards"]):
        raise TiercrawlError(f"run {run_id} has no shard {index}")
    campaign = campaign_from_dict(run["campaign_spec"], source=f"run {run_id}")
    return campaign, list(run["shards"][index]["domains"])


def start_shard(store: Store, run_id: str, index: int) -> None:
    store.runs.update_one(
        {"_id": run_id, f"shards.{index}.status": "pending"},
        {"$set": {f"shards.{index}.status": "running", f"shards.{index}.started_at": _now()}},
    )


def close_run(
    store: Store,
    run_id: str,
    campaign: Campaign,
    *,
    shard: int | None,
    reason: str,
    stats: dict[str, Any],
    target_aliases: Mapping[str, list[str]] | None = None,
) -> str:
    """Record that a crawl (or one shard of it) closed with ``reason``; return the run's status.

    The run is finalised (placements computed, status and ``finished_at`` set)
    when a single-process crawl closes, or when its last shard does.
    ``target_aliases``: see `compute_placements`; a shard's are never all of the run's.
    """
    status = "finished" if reason == "finished" else "failed"
    if shard is None:
        fields = {"close_reason": reason, "stats": stats}
        return _finalise(store, run_id, campaign, status, fields, target_aliases)
    return _close_shard(store, run_id, shard, status, reason, stats)


def lose_shard(store: Store, run_id: str, index: int, why: str) -> str:
    """Mark a shard failed whose job ended without closing it (a killed process, a lost node)."""
    return _close_shard(store, run_id, index, "failed", why, {})


def _close_shard(
    store: Store, run_id: str, index: int, status: str, reason: str, stats: dict[str, Any]
) -> str:
    prefix = f"shards.{index}"
    update: dict[str, Any] = {
        f"{prefix}.status": status,
        f"{prefix}.finished_at": _now(),
        f"{prefix}.close_reason": reason,
        f"{prefix}.stats": stats,
    }
    if status == "failed":
        # Shown at once: waiting for the other shards cannot make this run finished.
        update["status"] = "failed"
    # Only a shard that is not done yet matches, so exactly one caller sees the
    # last shard close, and only that one finalises the run.
    run = store.runs.find_one_and_update(
        {"_id": run_id, f"{prefix}.status": _UNDONE},
        {"$set": update},
        return_document=_RETURN_AFTER,
    )
    if run is None:
        current = store.runs.find_one({"_id": run_id}, {"status": 1})
        return str(current["status"]) if current else "failed"
    statuses = [s["status"] for s in run["shards"]]
    if not all(s in SHARD_DONE for s in statuses):
        return run_status(statuses)
    campaign = campaign_from_dict(run["campaign_spec"], source=f"run {run_id}")
    merged = merge_stats(s.get("stats") or {} for s in run["shards"])
    return _finalise(store, run_id, campaign, run_status(statuses), {"stats": merged})


def _finalise(
    store: Store,
    run_id: str,
    campaign: Campaign,
    status: str,
    fields: Mapping[str, Any],
    target_aliases: Mapping[str, list[str]] | None = None,
) -> str:
    stats = dict(fields.get("stats") or {})
    try:
        stats["tiercrawl/placements"] = compute_placements(store, run_id, campaign, target_aliases)
    except Exception:
        logger.exception("placements of run %s failed", run_id)
        status = "failed"
    store.runs.update_one(
        {"_id": run_id},
        {"$set": {**fields, "stats": stats, "status": status, "finished_at": _now()}},
    )
    logger.info("run %s %s", run_id, status)
    return status


# A run whose heartbeat is older than this many of its intervals was abandoned.
_SILENT_INTERVALS = 10


def abandoned(run: Mapping[str, Any], now: datetime) -> bool:
    """Whether ``run`` is a single-process crawl left ``running`` by a process that is gone.

    Its heartbeat (`RunRecorder`) stopped ``_SILENT_INTERVALS`` intervals ago. A
    scheduled run has shards, which ``tiercrawl status`` checks on their nodes.
    """
    beat, interval = run.get("heartbeat_at"), run.get("heartbeat_interval")
    if run.get("status") != "running" or run.get("shards") or beat is None or not interval:
        return False
    return (now - beat).total_seconds() > _SILENT_INTERVALS * interval


def fail_abandoned(store: Store, run: Mapping[str, Any]) -> bool:
    """Mark ``run`` failed if it was `abandoned`; True if it was."""
    if not abandoned(run, _now()):
        return False
    fail_run(
        store,
        run["_id"],
        f"abandoned: no heartbeat since {run['heartbeat_at']:%Y-%m-%d %H:%M:%S} UTC",
    )
    return True


def fail_run(store: Store, run_id: str, why: str) -> None:
    """Mark a single-process run failed, without placements, if it is still ``running``."""
    store.runs.update_one(
        {"_id": run_id, "status": "running"},
        {"$set": {"status": "failed", "finished_at": _now(), "close_reason": why}},
    )
    logger.info("run %s %s", run_id, why)


def _now() -> datetime:
    return datetime.now(UTC)
