"""The changes between two runs of a campaign, read from the store as streams.

Which runs (`plan_diff`): by default the newest finished run against the run
before it. A run's rechecks (``tiercrawl crawl --recheck``, runs with
``recheck_of``) belong to it: the older side of a diff is a run overlaid with
its rechecks, and a recheck run itself is compared with the baseline of the
run it rechecked, over the placements it covers, settling that run's alerts
(`tiercrawl.core.diff.resolve_recheck`).

How (`iter_diff`): both runs' ``placements`` come in one cursor each, sorted
by the placements index ``(run_id, tier, url, target)``, and are joined as
they arrive (`tiercrawl.core.diff.align`). ``pages`` are read one at a time
and only for the few placements whose verdict changed; ``scores`` are
streamed alongside when both runs are scored. Memory holds a cursor batch,
whatever the number of placements.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tiercrawl.core.diff import (
    Change,
    Observation,
    align,
    compare,
    find_relinked,
    needs_pages,
    needs_recheck,
    needs_relink,
    overlay,
    placement_key,
    resolve_recheck,
)
from tiercrawl.core.report import SECTIONS, ReportData, Section
from tiercrawl.exceptions import StoreError, TiercrawlError

if TYPE_CHECKING:
    from tiercrawl.core.campaign import Campaign
    from tiercrawl.store import Store

__all__ = [
    "DiffPlan",
    "NoBaselineError",
    "changes_between",
    "iter_diff",
    "plan_diff",
    "recheck_campaign",
    "recheck_keys",
    "report_sections",
]

_KEY_ORDER = [("run_id", 1), ("tier", 1), ("url", 1), ("target", 1)]
_BATCH = 1000
_PAGE_FIELDS = {"_id": 0, "main_text": 0}

Doc = Mapping[str, Any]


class NoBaselineError(TiercrawlError):
    """The run to compare is the campaign's first: there is nothing to compare it with."""


@dataclass(frozen=True)
class DiffPlan:
    """The runs one diff reads.

    ``older`` is the baseline run followed by its rechecks, oldest first (one
    overlaid state); ``prior`` the run a recheck ``newer`` rechecked, whose
    alerts the diff settles; ``scored`` whether both sides have scores.
    """

    campaign: str
    newer: str
    older: tuple[str, ...]
    prior: str | None = None
    scored: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def baseline(self) -> str:
        return self.older[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "from_run": self.baseline,
            "from_rechecks": list(self.older[1:]),
            "to_run": self.newer,
            "recheck_of": self.prior,
            "scored": self.scored,
        }


def plan_diff(
    store: Store, campaign: str, from_run: str | None = None, to_run: str | None = None
) -> DiffPlan:
    """Choose the runs to compare: ``to_run`` (default: the newest finished) against its baseline."""
    runs = store.runs_of(campaign)  # newest first
    by_id = {run["_id"]: run for run in runs}
    for run_id in (from_run, to_run):
        if run_id is not None and run_id not in by_id:
            raise TiercrawlError(f"{campaign}: no finished run {run_id}")
    if not runs:
        raise TiercrawlError(f"{campaign}: no finished run: run `tiercrawl crawl` first")
    newer = by_id[to_run] if to_run else runs[0]
    prior = newer.get("recheck_of")
    if from_run is None:
        base = _baseline(runs, by_id, prior or newer["_id"])
        if base is None:
            raise NoBaselineError(
                f"{campaign}: run {newer['_id']} has no earlier finished run to compare with"
            )
        from_run = base["_id"]
    rechecks = [
        run["_id"]
        for run in reversed(runs)
        if run.get("recheck_of")
        and run["_id"] != newer["_id"]
        and _root(by_id, run["_id"]) == from_run
        and run["started_at"] < newer["started_at"]
    ]
    scored = bool(by_id[from_run].get("scoring")) and bool(newer.get("scoring"))
    return DiffPlan(
        campaign=campaign,
        newer=newer["_id"],
        older=(from_run, *rechecks),
        prior=prior,
        scored=scored,
    )


def _root(by_id: Mapping[str, Doc], run_id: str) -> str:
    """The full run a chain of rechecks started from."""
    seen = set()
    while (run := by_id.get(run_id)) is not None and run.get("recheck_of") and run_id not in seen:
        seen.add(run_id)
        run_id = run["recheck_of"]
    return run_id


def _baseline(runs: list[dict[str, Any]], by_id: Mapping[str, Doc], run_id: str) -> Doc | None:
    """The full run before the full run that ``run_id`` is or rechecks."""
    root = by_id.get(_root(by_id, run_id))
    if root is None:
        return None
    return next(
        (
            run
            for run in runs
            if not run.get("recheck_of") and run["started_at"] < root["started_at"]
        ),
        None,
    )


def _stream(store: Store, collection: str, run_id: str) -> Iterator[Doc]:
    cursor = (
        store.db[collection]
        .find({"run_id": run_id}, {"_id": 0})
        .sort(_KEY_ORDER)
        .batch_size(_BATCH)
    )
    try:
        yield from cursor
    finally:
        cursor.close()


def _lookup(
    store: Store, collection: str, run_ids: Iterable[str], key: tuple[int, str, str]
) -> Iterator[Doc]:
    tier, url, target = key
    for run_id in run_ids:
        doc = store.db[collection].find_one(
            {"run_id": run_id, "tier": tier, "url": url, "target": target}, {"_id": 0}
        )
        if doc is not None:
            yield doc


class _Follower:
    """A key-sorted stream read alongside another one: `get` advances to a key and returns its doc."""

    def __init__(self, docs: Iterator[Doc]) -> None:
        self._docs = docs
        self._head = next(docs, None)

    def get(self, key: tuple[int, str, str]) -> Doc | None:
        while self._head is not None and placement_key(self._head) < key:
            self._head = next(self._docs, None)
        if self._head is not None and placement_key(self._head) == key:
            return self._head
        return None


def _page(store: Store, placement: Doc) -> Doc | None:
    return store.pages.find_one(
        {"run_id": placement["run_id"], "url": placement["url"]}, _PAGE_FIELDS
    )


def _changes(
    store: Store,
    old: Doc | None,
    new: Doc | None,
    scores: tuple[_Follower, _Follower] | None,
) -> list[Change]:
    if old is None or new is None:
        return compare(
            Observation(old) if old is not None else None,
            Observation(new) if new is not None else None,
        )
    old_page = new_page = None
    if needs_pages(old, new):
        old_page, new_page = _page(store, old), _page(store, new)
    relinked = None
    if needs_relink(old, new):
        links = store.links.find({"run_id": new["run_id"], "source_url": new["url"]}, {"_id": 0})
        relinked = find_relinked(old["link"], links)
    old_score = new_score = None
    if scores is not None:
        key = placement_key(new)
        old_score, new_score = scores[0].get(key), scores[1].get(key)
    return compare(
        Observation(old, old_page, old_score),
        Observation(new, new_page, new_score),
        relinked=relinked,
    )


def iter_diff(store: Store, plan: DiffPlan) -> Iterator[tuple[Doc, list[Change]]]:
    """Each placement of the diff (its newer document, else its older one) with its changes."""
    scores = None
    if plan.scored:
        scores = (
            _Follower(_stream(store, "scores", plan.baseline)),
            _Follower(_stream(store, "scores", plan.newer)),
        )
    newer = _stream(store, "placements", plan.newer)
    try:
        if plan.prior is None:
            older = overlay([_stream(store, "placements", run) for run in plan.older])
            for old, new in align(older, newer):
                yield (new or old or {}), _changes(store, old, new, scores)
            return
        for new in newer:
            key = placement_key(new)
            old = next(
                overlay([[doc] for doc in _lookup(store, "placements", plan.older, key)]), None
            )
            prior = next(_lookup(store, "placements", [plan.prior], key), None)
            current = _changes(store, old, new, scores)
            before = _changes(store, old, prior, None) if prior is not None else []
            yield new, resolve_recheck(current, before)
    except ValueError as exc:
        raise StoreError(f"{plan.campaign}: cannot diff runs: {exc}") from exc


def changes_between(
    store: Store, campaign: str, from_run: str | None = None, to_run: str | None = None
) -> tuple[DiffPlan, Iterator[Change]]:
    """The plan and the changes of a diff, for reports: ``for change in changes: ...``."""
    plan = plan_diff(store, campaign, from_run, to_run)
    return plan, (change for _, changes in iter_diff(store, plan) for change in changes)


def recheck_keys(store: Store, campaign: str, run_id: str) -> set[tuple[int, str, str]]:
    """The placements of run ``run_id`` a recheck should crawl again: worse than before, or unread."""
    try:
        plan = plan_diff(store, campaign, to_run=run_id)
    except NoBaselineError:
        # The campaign's first run: nothing to be worse than, only unread pages to retry.
        return {
            placement_key(doc)
            for doc in store.placements.find({"run_id": run_id, "status": "inconclusive"})
        }
    return {
        placement_key(doc)
        for doc, changes in iter_diff(store, plan)
        if doc.get("run_id") == plan.newer and needs_recheck(doc, changes)
    }


def recheck_campaign(store: Store, campaign: Campaign, run_id: str) -> Campaign:
    """``campaign`` cut down to the entries a recheck of run ``run_id`` crawls.

    A tier-2 entry brings its tier-1 target along, so the recheck knows where
    that page redirects and its campaign stays valid (every tier-2 target a
    tier-1 url). Raises `TiercrawlError` when nothing needs a recheck.
    """
    keys = recheck_keys(store, campaign.name, run_id)
    if not keys:
        raise TiercrawlError(f"{campaign.name}: nothing to recheck in run {run_id}")
    tier2 = tuple(e for e in campaign.tier2 if (e.tier, e.url, e.target) in keys)
    wanted_urls = {e.target for e in tier2}
    tier1 = tuple(
        e for e in campaign.tier1 if (e.tier, e.url, e.target) in keys or e.url in wanted_urls
    )
    return replace(campaign, tier1=tier1, tier2=tier2)


def report_sections(
    store: Store, campaign: str, run_id: str
) -> list[Callable[[ReportData], Section | None]]:
    """The HTML report's sections with "Changes since the last run" after the summary.

    Without an earlier run the report's sections are returned unchanged.
    """
    try:
        plan, changes = changes_between(store, campaign, to_run=run_id)
        section = _changes_section(plan, list(changes))
    except NoBaselineError:
        return list(SECTIONS)
    return [SECTIONS[0], lambda _data: section, *SECTIONS[1:]]


_REPORT_ROWS = 500


def _changes_section(plan: DiffPlan, changes: list[Change]) -> Section:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(c.kind)}</td><td>{e(c.state)}</td><td>{c.tier}</td>"
        f"<td>{e(c.url)}</td><td>{e(str(c.old))} → {e(str(c.new))}</td>"
        f"<td>{e(c.reason)}</td></tr>"
        for c in changes[:_REPORT_ROWS]
    )
    more = (
        f"<p>{len(changes) - _REPORT_ROWS} more: <code>tiercrawl diff {e(plan.campaign)}</code>.</p>"
        if len(changes) > _REPORT_ROWS
        else ""
    )
    intro = f"<p>Run <code>{e(plan.newer)}</code> against <code>{e(plan.baseline)}</code>: "
    if not changes:
        return Section("changes", "Changes since the last run", intro + "no change.</p>")
    table = (
        "<table><thead><tr><th>change</th><th>state</th><th>tier</th><th>page</th>"
        f"<th>old → new</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return Section(
        "changes",
        "Changes since the last run",
        f"{intro}{len(changes)} change(s).</p>{table}{more}",
    )
