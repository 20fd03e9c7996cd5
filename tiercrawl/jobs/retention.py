"""Retention: keep a campaign's newest runs, remove the older ones with every document they own.

``TIERCRAWL_KEEP_RUNS`` (default 0: keep all) counts full runs. A kept run
keeps its rechecks (they belong to it: `tiercrawl.jobs.diff`); a running run
is never touched. A run is removed children first (``links``, ``pages``,
``placements``, ``placement_digests``, ``scores``) and its ``runs`` document last, so a cleanup that
is interrupted leaves a run that the next cleanup removes, never orphans.

A finished run's links are found from its pages (`Store.delete_run_links`):
``links`` has no index on ``run_id``. A run that did not finish may hold
links whose page was never stored (a crash between the two writes, pages
the store refused), so its links are removed by ``run_id``: one read of the
whole collection for each such run, which is rare.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tiercrawl.core.diff import recheck_root

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tiercrawl.store import Store

__all__ = ["RUN_COLLECTIONS", "apply_retention", "runs_to_remove"]

logger = logging.getLogger(__name__)

# Every collection whose documents carry a run_id, children before the run itself.
RUN_COLLECTIONS = ("links", "pages", "placements", "placement_digests", "scores")


def runs_to_remove(store: Store, campaign: str, keep: int) -> list[str]:
    """The ids of the runs of ``campaign`` older than its newest ``keep`` finished full runs.

    Only finished runs count: failed ones between them are kept with them, but
    never take the place of the baseline a diff needs.
    """
    return [run["_id"] for run in _removable(store, campaign, keep)]


def _removable(store: Store, campaign: str, keep: int) -> list[Mapping[str, Any]]:
    """The ``runs`` documents of `runs_to_remove`."""
    if keep <= 0:
        return []
    runs = store.runs_of(campaign, ("finished", "failed"))  # newest first
    full = [run for run in runs if not run.get("recheck_of")]
    finished = [run for run in full if run["status"] == "finished"][:keep]
    if len(finished) < keep:
        return []
    oldest = finished[-1]["started_at"]
    kept = {run["_id"] for run in full if run["started_at"] >= oldest}
    by_id = {run["_id"]: run for run in runs}
    return [run for run in runs if recheck_root(by_id, run["_id"]) not in kept]


def apply_retention(store: Store, campaign: str, keep: int) -> list[str]:
    """Remove the runs `runs_to_remove` names, children first; return their ids."""
    removed = []
    for run in _removable(store, campaign, keep):
        run_id = run["_id"]
        for collection in RUN_COLLECTIONS:
            if collection == "links" and run["status"] == "finished":
                store.delete_run_links(run_id)
            else:
                store.db[collection].delete_many({"run_id": run_id})
        store.runs.delete_one({"_id": run_id})
        logger.info("retention: removed run %s of %s", run_id, campaign)
        removed.append(run_id)
    return removed
