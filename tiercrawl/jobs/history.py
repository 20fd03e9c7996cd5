"""A campaign's placements over its runs (``tiercrawl history``), read from the runs' digests.

Each full run counts once, overlaid with its rechecks as the diff reads them
(`tiercrawl.jobs.diff`): a recheck's conclusive verdict replaces its run's.
The runs are read one after the other from their digests, a few documents
at a time; the job holds one status per placement and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tiercrawl.core.campaign import spec_deals
from tiercrawl.core.diff import overlay, placement_key, recheck_root
from tiercrawl.core.history import CampaignHistory, HistoryRun, placement_histories
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.jobs.diff import placement_entries

if TYPE_CHECKING:
    from tiercrawl.store import Store

__all__ = ["DEFAULT_RUNS", "campaign_history"]

# Full runs read by default: weekly crawls over a quarter, daily ones over a fortnight.
DEFAULT_RUNS = 14


def campaign_history(
    store: Store, campaign: str, runs: int = DEFAULT_RUNS, until: str | None = None
) -> CampaignHistory:
    """The newest run's placements, each with its statuses in the newest ``runs`` full runs.

    ``until`` (a full run's id) makes that run the newest one read, as a report of it wants.
    """
    finished = store.runs_of(campaign)  # newest first
    by_id = {run["_id"]: run for run in finished}
    full = [run for run in finished if not run.get("recheck_of")]
    if until is not None:
        full = [run for run in full if run["started_at"] <= by_id[until]["started_at"]]
    runs_before = max(0, len(full) - runs)
    full = full[:runs][::-1]
    if not full:
        raise TiercrawlError(f"{campaign}: no finished run: run `tiercrawl crawl` first")
    rechecks: dict[str, list[str]] = {}
    for run in reversed(finished):
        if run.get("recheck_of"):
            rechecks.setdefault(recheck_root(by_id, run["_id"]), []).append(run["_id"])
    history_runs = tuple(
        HistoryRun(run["_id"], run["started_at"], tuple(rechecks.get(run["_id"], [])))
        for run in full
    )
    # By key as each run wrote it: a status a run. The URL forms of one entry are joined
    # at the end, so each key's match form is computed once, not once a run.
    statuses: dict[tuple[int, str, str], list[str | None]] = {}
    for index, run in enumerate(history_runs):
        state = overlay(
            [placement_entries(store, run_id) for run_id in (run.run_id, *run.rechecks)]
        )
        for doc in state:
            key = placement_key(doc)
            if key not in statuses:
                statuses[key] = [None] * len(history_runs)
            statuses[key][index] = str(doc["status"])
    placements = placement_histories(statuses)
    deals = spec_deals(full[-1].get("campaign_spec"))
    return CampaignHistory(campaign, history_runs, tuple(placements), runs_before, deals)
