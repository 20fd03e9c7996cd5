"""The changes between two runs of a campaign, read from the store as streams.

Which runs (`plan_diff`): by default the newest finished run against the run
before it. A run's rechecks (``tiercrawl crawl --recheck``, runs with
``recheck_of``) belong to it: the older side of a diff is a run overlaid with
its rechecks, and a recheck run itself is compared with the baseline of the
run it rechecked, over the placements it covers, settling that run's alerts
(`tiercrawl.core.diff.resolve_recheck`).

How (`iter_diff`): each run is read from its digests (``placement_digests``,
written with its placements: `tiercrawl.jobs.placements`), a few documents
of ~1,000 placements at a time by ``seq`` ranges, and the two streams are
joined in key order (`tiercrawl.core.diff.align`). Only where two digests
differ (`tiercrawl.core.diff.needs_documents`) are the placement documents
read, batch by batch with ``$in`` queries on the placements index, and with
them the few ``pages`` and ``links`` their verdicts need; ``scores`` the same
way when both runs are scored. A run stored before digests existed is read
from one sorted cursor of its documents instead. Either way the job holds a
batch of `_PAIRS` placements and what they need, whatever the number of
placements. With digests the embedded server does too (it materialises each
query's whole result): no query returns more than `_DIGEST_READS` digests
or `_LOOKUP_CHUNK` urls' documents (``tests/test_diff_streaming.py``).
Every read fetches only the fields the comparison needs.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tiercrawl.core.batching import batches
from tiercrawl.core.diff import (
    PAGE_FIELDS,
    SCORE_FIELDS,
    Change,
    Observation,
    align,
    compare,
    find_relinked,
    needs_documents,
    needs_pages,
    needs_recheck,
    needs_relink,
    overlay,
    placement_digest,
    placement_key,
    recheck_root,
    resolve_recheck,
    score_changes,
    shown,
)
from tiercrawl.core.matching import INCONCLUSIVE
from tiercrawl.core.report import SECTIONS, ReportData, Section
from tiercrawl.core.urls import match_key
from tiercrawl.exceptions import StoreError, TiercrawlError
from tiercrawl.jobs.placements import DIGESTS

if TYPE_CHECKING:
    from tiercrawl.core.campaign import Campaign
    from tiercrawl.store import Store

__all__ = [
    "DiffPlan",
    "NoBaselineError",
    "changes_between",
    "iter_diff",
    "placement_entries",
    "plan_diff",
    "recheck_campaign",
    "recheck_keys",
    "report_sections",
]

_KEY_ORDER = [("run_id", 1), ("tier", 1), ("url", 1), ("target", 1)]
_BATCH = 1000
# Digest documents read per query (each holds up to DIGEST_SIZE placements).
_DIGEST_READS = 4
# Aligned placements resolved together: their documents, pages, links and
# scores are read in a few queries per batch.
_PAIRS = 1000
# Values per `$in` query: SecantusDB matches each document against every value
# in Python, so a long list costs more per document (measured best at 10-20).
_LOOKUP_CHUNK = 20
# Projections: what the comparison reads, and the keys to file it under.
_PAGE_FIELDS = {"_id": 0, "run_id": 1, "url": 1, **dict.fromkeys(PAGE_FIELDS, 1)}
_SCORE_FIELDS = {"_id": 0, "tier": 1, "url": 1, "target": 1, **dict.fromkeys(SCORE_FIELDS, 1)}
_LINK_FIELDS = {"_id": 0, "source_url": 1, "position": 1, "url": 1, "anchor_text": 1}
_LINK_COUNT_FIELDS = {"_id": 0, "url": 1, "link_count": 1}
_TARGET_FIELDS = {"_id": 0, "url": 1, "target": 1, "link.url": 1}
_ALL_FIELDS = {"_id": 0}
# Runs before the baseline searched for a placement the baseline could not read.
_LOOKBACK_RUNS = 10
# The tiers a placement can have (a campaign's tier-1 and tier-2 entries).
_PLACEMENT_TIERS = (1, 2)

Doc = Mapping[str, Any]


class NoBaselineError(TiercrawlError):
    """The run to compare is the campaign's first: there is nothing to compare it with."""


@dataclass(frozen=True)
class DiffPlan:
    """The runs one diff reads.

    ``older`` is the baseline run followed by its rechecks, oldest first (one
    overlaid state); ``prior`` the run a recheck ``newer`` rechecked, whose
    alerts the diff settles; ``scored`` whether both sides have scores;
    ``earlier`` the runs before the baseline, newest first, where a placement
    the baseline could not read is compared from (`_last_read`).
    """

    campaign: str
    newer: str
    older: tuple[str, ...]
    prior: str | None = None
    scored: bool = False
    notes: tuple[str, ...] = field(default=())
    earlier: tuple[str, ...] = field(default=())

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
        and recheck_root(by_id, run["_id"]) == from_run
        and run["started_at"] < newer["started_at"]
    ]
    scored = bool(by_id[from_run].get("scoring")) and bool(newer.get("scoring"))
    started = by_id[from_run]["started_at"]
    earlier = [run["_id"] for run in runs if run["started_at"] < started][:_LOOKBACK_RUNS]
    return DiffPlan(
        campaign=campaign,
        newer=newer["_id"],
        older=(from_run, *rechecks),
        prior=prior,
        scored=scored,
        earlier=tuple(earlier),
    )


def _baseline(runs: list[dict[str, Any]], by_id: Mapping[str, Doc], run_id: str) -> Doc | None:
    """The full run before the full run that ``run_id`` is or rechecks."""
    root = by_id.get(recheck_root(by_id, run_id))
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


def _stream(
    store: Store, collection: str, run_id: str, projection: Mapping[str, Any] = _ALL_FIELDS
) -> Iterator[Doc]:
    cursor = (
        store.db[collection]
        .find({"run_id": run_id}, projection)
        .sort(_KEY_ORDER)
        .batch_size(_BATCH)
    )
    try:
        yield from cursor
    finally:
        cursor.close()


class _Stub(dict[str, Any]):
    """A placement as its run's digest holds it: key, ``status``, ``digest``; no document."""


def placement_entries(store: Store, run_id: str) -> Iterator[Doc]:
    """A run's placements in key order: digest entries, or documents for a run without digests.

    Digests are read `_DIGEST_READS` documents at a time by a ``seq`` range
    bounded on both sides, so neither side ever holds more than that.
    """
    digests = store.db[DIGESTS]
    first = digests.find_one({"run_id": run_id, "seq": 0}, {"_id": 0, "chunks": 1})
    if first is None:  # a run from before digests: its documents, in one sorted cursor
        yield from _stream(store, "placements", run_id)
        return
    chunks = int(first["chunks"])
    for start in range(0, chunks, _DIGEST_READS):
        end = min(start + _DIGEST_READS, chunks)
        docs = list(
            digests.find(
                {"run_id": run_id, "seq": {"$gte": start, "$lt": end}},
                {"_id": 0, "seq": 1, "tier": 1, "entries": 1},
            ).sort("seq", 1)
        )
        if [doc["seq"] for doc in docs] != list(range(start, end)):
            raise StoreError(f"run {run_id}: placement digests {start}-{end - 1} incomplete")
        for doc in docs:
            tier = doc["tier"]
            for url, target, status, digest in doc["entries"]:
                yield _Stub(
                    run_id=run_id, tier=tier, url=url, target=target, status=status, digest=digest
                )


def _summary(doc: Doc) -> Doc:
    """What `needs_documents` reads of a digest entry or a placement document."""
    if isinstance(doc, _Stub):
        return doc
    return {"status": doc.get("status"), "digest": placement_digest(doc)}


def _by_url(
    store: Store,
    collection: str,
    query: Mapping[str, Any],
    field_name: str,
    values: Iterable[str],
    projection: Mapping[str, Any],
) -> Iterator[Doc]:
    """The documents matching ``query`` whose ``field_name`` is one of ``values``, by chunks.

    Each query is ``{<query>, field_name: {$in: chunk}}`` on an index whose
    fields are ``query``'s and then ``field_name``: it costs what it returns.
    """
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        yield from store.db[collection].find(
            {**query, field_name: {"$in": chunk}}, projection, batch_size=_BATCH
        )


def _by_key(
    store: Store,
    collection: str,
    run_id: str,
    keys: Iterable[tuple[int, str, str]],
    projection: Mapping[str, Any] = _ALL_FIELDS,
) -> dict[tuple[int, str, str], Doc]:
    """The ``placements`` or ``scores`` documents of run ``run_id`` with these keys."""
    wanted = set(keys)
    urls_by_tier: dict[int, set[str]] = {}
    for tier, url, _target in wanted:
        urls_by_tier.setdefault(tier, set()).add(url)
    found = {}
    for tier, urls in sorted(urls_by_tier.items()):
        query = {"run_id": run_id, "tier": tier}
        for doc in _by_url(store, collection, query, "url", urls, projection):
            if (key := placement_key(doc)) in wanted:
                found[key] = doc
    return found


def _documents(store: Store, wanted: Iterable[Doc]) -> dict[tuple[str, tuple[int, str, str]], Doc]:
    """The placement documents of these digest entries, by (run id, key)."""
    keys_by_run: dict[str, list[tuple[int, str, str]]] = {}
    for stub in wanted:
        keys_by_run.setdefault(stub["run_id"], []).append(placement_key(stub))
    return {
        (run_id, key): doc
        for run_id, keys in keys_by_run.items()
        for key, doc in _by_key(store, "placements", run_id, keys).items()
    }


def _urls_by_run(placements: Iterable[Doc]) -> dict[str, set[str]]:
    urls_by_run: dict[str, set[str]] = {}
    for doc in placements:
        urls_by_run.setdefault(doc["run_id"], set()).add(doc["url"])
    return urls_by_run


def _pages(store: Store, placements: Iterable[Doc]) -> dict[tuple[str, str], Doc]:
    return {
        (run_id, page["url"]): page
        for run_id, urls in _urls_by_run(placements).items()
        for page in _by_url(store, "pages", {"run_id": run_id}, "url", urls, _PAGE_FIELDS)
    }


def _links(store: Store, placements: Iterable[Doc]) -> dict[tuple[str, str], Sequence[Doc]]:
    """The links of these placements' pages, in page order."""
    found: dict[tuple[str, str], Sequence[Doc]] = {}
    for run_id, urls in _urls_by_run(placements).items():
        pages = _by_url(store, "pages", {"run_id": run_id}, "url", urls, _LINK_COUNT_FIELDS)
        link_counts = {page["url"]: page.get("link_count", 0) for page in pages}
        for url, links in store.page_links(run_id, link_counts, _LINK_FIELDS).items():
            found[(run_id, url)] = links
    return found


def _targets(store: Store, placements: Iterable[Doc]) -> dict[tuple[str, str], set[str]]:
    """The `match_key` of every target these placements' pages have in their runs, and
    of the link each found (a target's new address, after a redirect)."""
    found: dict[tuple[str, str], set[str]] = {}
    for run_id, urls in _urls_by_run(placements).items():
        # One equality per tier: a range on tier would leave url off the index (a scan).
        docs = (
            doc
            for tier in _PLACEMENT_TIERS
            for doc in _by_url(
                store, "placements", {"run_id": run_id, "tier": tier}, "url", urls, _TARGET_FIELDS
            )
        )
        for doc in docs:
            keys = found.setdefault((run_id, doc["url"]), set())
            keys.add(match_key(doc["target"]))
            if doc.get("link"):
                keys.add(match_key(doc["link"].get("url") or ""))
    return found


def _relinked(old: Doc, new: Doc, links: Sequence[Doc], targets: set[str]) -> Doc | None:
    """`find_relinked` among the links of ``new``'s page, but for the page's other targets."""
    others = {key for key in targets if key != match_key(new["target"])}
    return find_relinked(old["link"], links, others)


def _last_read(store: Store, earlier: Sequence[str], old: Doc, new: Doc) -> Doc:
    """``old``, or, when its run could not read the page and ``new``'s could, the
    placement as the latest of the ``earlier`` runs that read it saw it: a link
    lost while the page was unreadable is still ``lost``, one never seen is not.
    """
    if old.get("status") != INCONCLUSIVE or new.get("status") == INCONCLUSIVE:
        return old
    read = (
        doc
        for doc in _lookup(store, "placements", earlier, placement_key(old))
        if doc.get("status") != INCONCLUSIVE
    )
    return next(read, old)


def _resolve(
    store: Store,
    pairs: list[tuple[Doc | None, Doc | None]],
    scored: tuple[str, str] | None,
    earlier: Sequence[str],
) -> Iterator[tuple[Doc, list[Change]]]:
    """The changes of a batch of aligned placements, reading what they need in a few queries.

    Placement documents only for pairs whose digests differ (`needs_documents`),
    pages only where the verdict needs them (`needs_pages`), links only where
    a link vanished (`needs_relink`), scores when both runs are scored.
    """
    compared = [
        old is not None and new is not None and needs_documents(_summary(old), _summary(new))
        for old, new in pairs
    ]
    stubs = [
        doc
        for (old, new), full in zip(pairs, compared, strict=True)
        if full
        for doc in (old, new)
        if isinstance(doc, _Stub)
    ]
    documents = _documents(store, stubs)

    def document(doc: Doc) -> Doc:
        if not isinstance(doc, _Stub):
            return doc
        key = (doc["run_id"], placement_key(doc))
        if key not in documents:
            raise StoreError(f"run {doc['run_id']}: no placement {placement_key(doc)}")
        return documents[key]

    both: list[tuple[Doc, Doc] | None] = [
        (_last_read(store, earlier, document(old), document(new)), document(new))
        if full and old is not None and new is not None
        else None
        for (old, new), full in zip(pairs, compared, strict=True)
    ]
    full_pairs = [pair for pair in both if pair is not None]
    pages = _pages(
        store, (doc for old, new in full_pairs if needs_pages(old, new) for doc in (old, new))
    )
    relinks = [new for old, new in full_pairs if needs_relink(old, new)]
    links = _links(store, relinks)
    targets = _targets(store, relinks)
    scores: tuple[dict[Any, Doc], dict[Any, Doc]] = ({}, {})
    if scored is not None:
        keys = [placement_key(new) for old, new in pairs if old is not None and new is not None]
        scores = (
            _by_key(store, "scores", scored[0], keys, _SCORE_FIELDS),
            _by_key(store, "scores", scored[1], keys, _SCORE_FIELDS),
        )
    for (old, new), pair in zip(pairs, both, strict=True):
        if old is None or new is None:
            changes = compare(
                Observation(old) if old is not None else None,
                Observation(new) if new is not None else None,
            )
            yield (new or old or {}), changes
            continue
        key = placement_key(new)
        old_score, new_score = scores[0].get(key), scores[1].get(key)
        if pair is None:
            yield new, score_changes(new, old_score, new_score)
            continue
        old, new = pair
        relinked = None
        if needs_relink(old, new):
            page = (new["run_id"], new["url"])
            relinked = _relinked(old, new, links.get(page, []), targets.get(page, set()))
        yield (
            new,
            compare(
                Observation(old, pages.get((old["run_id"], old["url"])), old_score),
                Observation(new, pages.get((new["run_id"], new["url"])), new_score),
                relinked=relinked,
            ),
        )


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
        page = (new["run_id"], new["url"])
        links = _links(store, [new]).get(page, [])
        relinked = _relinked(old, new, links, _targets(store, [new]).get(page, set()))
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
    """Each placement of the diff (its newer document, else its older one) with its changes.

    Placements whose digests did not change come as their digest entry (key,
    ``run_id``, ``status``), not their document.
    """
    try:
        if plan.prior is None:
            older = overlay([placement_entries(store, run) for run in plan.older])
            pairs = align(older, placement_entries(store, plan.newer))
            scored = (plan.baseline, plan.newer) if plan.scored else None
            for batch in batches(pairs, _PAIRS):
                yield from _resolve(store, batch, scored, plan.earlier)
            return
        scores = None
        if plan.scored:
            scores = (
                _Follower(_stream(store, "scores", plan.baseline, _SCORE_FIELDS)),
                _Follower(_stream(store, "scores", plan.newer, _SCORE_FIELDS)),
            )
        for new in _stream(store, "placements", plan.newer):
            key = placement_key(new)
            old = next(
                overlay([[doc] for doc in _lookup(store, "placements", plan.older, key)]), None
            )
            prior = next(_lookup(store, "placements", [plan.prior], key), None)
            if old is not None:
                old = _last_read(store, plan.earlier, old, new)
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
        f"<td>{e(c.url)}</td><td>{e(shown(c.old))} → {e(shown(c.new))}</td>"
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
