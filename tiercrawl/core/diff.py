"""What changed for each placement between two runs: typed changes with their evidence.

`compare` takes one placement as two runs saw it (an `Observation`: the
``placements`` document, and where needed its ``pages`` and ``scores``
documents) and gives its `Change` list. Everything here works on one
placement at a time, so a job can stream two runs in key order through
`align` and never hold a whole run.

Rules that keep false alarms out:

* a placement whose page was ``inconclusive`` in the newer run gives one
  ``unverified`` change with the reason, never ``lost``;
* placements are paired by `tiercrawl.core.urls.match_key`, and two links
  that both point at the target (or at an address it redirects to) are the
  same link, so ``www.``, a trailing slash, tracking parameters or a moved
  target never make a change;
* ``rel`` tokens that do not change what a link passes (``noopener``,
  ``noreferrer``, ...) are ignored.

A regression is an ``alert`` when one run saw it; `resolve_recheck` makes it
``confirmed`` when a recheck sees it again, and ``withdrawn`` when not.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tiercrawl.core.matching import ABSENT_STATUSES, FOUND_STATUSES, INCONCLUSIVE
from tiercrawl.core.text import fold_case
from tiercrawl.core.urls import match_key

__all__ = [
    "CHANGE_KINDS",
    "CONTEXT_MIN_SIMILARITY",
    "PAGE_FIELDS",
    "SCORE_FIELDS",
    "SCORE_MIN_DELTA",
    "Change",
    "Observation",
    "align",
    "compare",
    "find_relinked",
    "needs_documents",
    "needs_pages",
    "needs_recheck",
    "needs_relink",
    "overlay",
    "placement_digest",
    "placement_key",
    "recheck_root",
    "resolve_recheck",
    "score_changes",
    "shown",
]

CHANGE_KINDS = (
    "lost",
    "recovered",
    "new",
    "removed",
    "unverified",
    "rel_changed",
    "anchor_changed",
    "target_changed",
    "region_changed",
    "became_hidden",
    "became_visible",
    "became_rendered_only",
    "became_static",
    "page_status_changed",
    "page_moved",
    "indexability_changed",
    "context_changed",
    "score_changed",
)

# Context: below this word-level similarity (difflib ratio, 0-1) the text around
# the link counts as rewritten. Edits of a few words in a 50-word context stay above it.
CONTEXT_MIN_SIMILARITY = 0.6
# Score: a change of fewer points (0-100 scale) is noise of the scoring inputs.
SCORE_MIN_DELTA = 10.0

# What `compare` reads of a ``pages`` and a ``scores`` document: all a job needs to fetch.
PAGE_FIELDS = (
    "indexable",
    "indexability",
    "meta_robots",
    "x_robots_tag",
    "canonical",
    "page_nofollow",
)
SCORE_FIELDS = ("score", "components", "flags")

# The rel tokens that change what a link passes; noopener & co. do not.
_REL_TOKENS = frozenset({"nofollow", "sponsored", "ugc"})
# Indexability reasons that only restate the page's HTTP status (reported as its own change).
_STATUS_REASONS = frozenset({"status"})

Key = tuple[int, str, str]
Evidence = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Observation:
    """One placement as one run saw it.

    ``page`` (the ``pages`` document of the placement's url) is needed only when
    `needs_pages` says so; ``score`` only when both runs are scored.
    """

    placement: Mapping[str, Any]
    page: Mapping[str, Any] | None = None
    score: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Change:
    """One typed change of one placement.

    ``severity`` is ``regression``, ``improvement``, ``neutral`` or ``unknown``
    (``unverified``); ``state`` is ``alert`` (a regression one run saw),
    ``confirmed``, ``withdrawn``, ``unverified`` or ``info``. ``evidence`` maps
    each link or page field that differs to its old and new value.
    """

    kind: str
    tier: int
    url: str
    target: str
    old: Any
    new: Any
    severity: str
    state: str
    evidence: Evidence = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "severity": self.severity,
            "tier": self.tier,
            "url": self.url,
            "target": self.target,
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
            "evidence": self.evidence,
        }


def placement_key(doc: Mapping[str, Any]) -> Key:
    """The order in which runs are streamed: the store's placements index order."""
    return (int(doc["tier"]), str(doc["url"]), str(doc["target"]))


# Fields that name the run a document belongs to, not what it saw: left out of digests.
_RUN_FIELDS = frozenset({"_id", "run_id", "campaign"})


def placement_digest(doc: Mapping[str, Any]) -> str:
    """A short hash of everything a run saw of one placement (its ``link`` included).

    Two runs' documents with the same digest differ only in the run they belong
    to, so `compare` would find nothing in them: a job compares digests first
    and reads documents only where they differ (`needs_documents`).
    """
    seen = {k: v for k, v in doc.items() if k not in _RUN_FIELDS}
    if isinstance(link := seen.get("link"), Mapping):
        seen["link"] = {k: v for k, v in link.items() if k not in _RUN_FIELDS}
    text = json.dumps(seen, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def needs_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a placement both runs saw must be compared on its documents.

    ``old`` and ``new`` need only ``status`` and ``digest`` (`placement_digest`).
    Equal digests give no change, unless the page's indexability is in
    question (`needs_pages`), which only the ``pages`` documents tell;
    scores are compared apart (`score_changes`).
    """
    return (
        old.get("digest") != new.get("digest")
        or needs_pages(old, new)
        or new.get("status") == INCONCLUSIVE  # its `unverified` change says why, every time
    )


def score_changes(
    placement: Mapping[str, Any], old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[Change]:
    """The ``score_changed`` change of a placement whose documents need no comparison."""
    return _score_changes(placement, old, new)


def _match(key: Key) -> Key:
    return (key[0], match_key(key[1]), match_key(key[2]))


def align(
    old: Iterable[Mapping[str, Any]],
    new: Iterable[Mapping[str, Any]],
) -> Iterator[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]]:
    """Pair two streams of placements sorted by `placement_key`: ``(old, new)``, one side may be None.

    Entries whose url or target was rewritten in another URL form between the
    runs (``www.``, a slash, tracking parameters) have different keys but the
    same `match_key`; they are held until the end and paired then, so memory
    grows with such edits only, never with the number of placements.
    """
    old_it, new_it = _keyed(old), _keyed(new)
    ka, a = next(old_it, (None, None))
    kb, b = next(new_it, (None, None))
    unpaired_old: dict[Key, Mapping[str, Any]] = {}
    unpaired_new: dict[Key, Mapping[str, Any]] = {}
    while a is not None or b is not None:
        if a is not None and (kb is None or (ka is not None and ka < kb)):
            unpaired_old[_match(placement_key(a))] = a
            ka, a = next(old_it, (None, None))
        elif b is not None and (ka is None or (kb is not None and kb < ka)):
            unpaired_new[_match(placement_key(b))] = b
            kb, b = next(new_it, (None, None))
        else:
            yield a, b
            ka, a = next(old_it, (None, None))
            kb, b = next(new_it, (None, None))
    for mkey, doc in unpaired_old.items():
        yield doc, unpaired_new.pop(mkey, None)
    for doc in unpaired_new.values():
        yield None, doc


def _keyed(docs: Iterable[Mapping[str, Any]]) -> Iterator[tuple[Key, Mapping[str, Any]]]:
    """``docs`` with their keys, checked to be in key order (unsorted streams would pair nothing)."""
    last: Key | None = None
    for doc in docs:
        key = placement_key(doc)
        if last is not None and key < last:
            raise ValueError(f"placements out of order: {key} after {last}")
        last = key
        yield key, doc


def recheck_root(runs: Mapping[str, Mapping[str, Any]], run_id: str) -> str:
    """The full run a chain of rechecks (``recheck_of``) started from, by ``runs``' ids."""
    seen = set()
    while (run := runs.get(run_id)) is not None and run.get("recheck_of") and run_id not in seen:
        seen.add(run_id)
        run_id = run["recheck_of"]
    return run_id


def overlay(
    streams: Sequence[Iterable[Mapping[str, Any]]],
) -> Iterator[Mapping[str, Any]]:
    """Merge key-sorted streams, oldest first, into one: per key the newest conclusive document.

    Gives the state of a run together with its rechecks: a recheck replaces
    what the run said of the placements it covers, but an ``inconclusive``
    recheck does not erase a verdict.
    """
    if len(streams) == 1:  # no recheck: the run as it is
        yield from streams[0]
        return
    iters = [iter(stream) for stream in streams]
    heads = [next(it, None) for it in iters]
    while any(head is not None for head in heads):
        key = min(placement_key(head) for head in heads if head is not None)
        chosen: Mapping[str, Any] | None = None
        for i, head in enumerate(heads):
            if head is not None and placement_key(head) == key:
                if chosen is None or head.get("status") != INCONCLUSIVE:
                    chosen = head
                heads[i] = next(iters[i], None)
        assert chosen is not None
        yield chosen


def needs_pages(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether comparing these two placements needs their ``pages`` documents.

    For the page-level evidence (indexability, page-wide nofollow) only: a
    placement whose verdict did not change and is ``live`` or ``nofollow`` is
    on an indexable page whose nofollow state is what it was, so most
    placements are compared without reading their pages.
    """
    statuses = {old.get("status"), new.get("status")}
    return INCONCLUSIVE not in statuses and (len(statuses) > 1 or "not_indexable" in statuses)


def needs_relink(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the newer page's links are needed: the link vanished from a page that was read."""
    return (
        bool(old.get("found")) and new.get("status") == "missing" and old.get("link") is not None
    )


def find_relinked(
    old_link: Mapping[str, Any],
    links: Iterable[Mapping[str, Any]],
    other_targets: Collection[str] = (),
) -> Mapping[str, Any] | None:
    """The link of the newer page that took the old link's place: same anchor, another target.

    ``other_targets`` are the `match_key` of the page's other placements' targets: a
    link to one of them is that placement's own link, not this one moved.
    """
    anchor = fold_case(old_link.get("anchor_text"))
    if not anchor:
        return None
    old_target = match_key(old_link.get("url") or "")
    for link in links:
        if fold_case(link.get("anchor_text")) != anchor:
            continue
        target = match_key(link.get("url") or "")
        if target != old_target and target not in other_targets:
            return link
    return None


def compare(
    old: Observation | None,
    new: Observation | None,
    *,
    relinked: Mapping[str, Any] | None = None,
) -> list[Change]:
    """The changes of one placement from ``old`` to ``new`` (either may be None: added, removed).

    ``relinked`` is the newer page's link found by `find_relinked`, when
    `needs_relink` asked for it.
    """
    if new is None:
        assert old is not None
        return [_change("removed", old.placement, old.placement.get("status"), None, "neutral")]
    p_new = new.placement
    if old is None:
        return [_change("new", p_new, None, p_new.get("status"), "neutral")]
    p_old = old.placement
    s_old, s_new = p_old.get("status"), p_new.get("status")
    if s_new == INCONCLUSIVE:
        # Also when the older run could not read the page either: still no verdict.
        return [
            _change(
                "unverified",
                p_new,
                s_old,
                s_new,
                "unknown",
                _page_evidence(p_old, p_new),
                reason=p_new.get("reason") or "",
            )
        ]
    changes = _verdict_changes(p_old, p_new, relinked)
    if s_old != INCONCLUSIVE:
        changes += _page_changes(old, new)
        if s_old in FOUND_STATUSES and s_new in FOUND_STATUSES:
            changes += _link_changes(p_old, p_new, old.page, new.page)
    changes += _score_changes(p_new, old.score, new.score)
    return changes


def _verdict_changes(
    p_old: Mapping[str, Any], p_new: Mapping[str, Any], relinked: Mapping[str, Any] | None
) -> list[Change]:
    s_old, s_new = p_old.get("status"), p_new.get("status")
    evidence = _diff_fields(p_old, p_new, ("status", "found", "link_count"))
    if s_old in FOUND_STATUSES and s_new in ABSENT_STATUSES:
        if relinked is not None:
            old_url = (p_old.get("link") or {}).get("url")
            evidence["link.url"] = {"old": old_url, "new": relinked.get("url")}
            evidence["link.anchor_text"] = {
                "old": relinked.get("anchor_text"),
                "new": relinked.get("anchor_text"),
            }
            return [
                _change(
                    "target_changed", p_new, old_url, relinked.get("url"), "regression", evidence
                )
            ]
        return [_change("lost", p_new, s_old, s_new, "regression", evidence, p_new.get("reason"))]
    if s_old in ABSENT_STATUSES and s_new in FOUND_STATUSES:
        return [_change("recovered", p_new, s_old, s_new, "improvement", evidence)]
    return []


def _page_evidence(p_old: Mapping[str, Any], p_new: Mapping[str, Any]) -> Evidence:
    return _diff_fields(p_old, p_new, ("status", "page_status", "page_error"))


def _page_changes(old: Observation, new: Observation) -> list[Change]:
    p_old, p_new = old.placement, new.placement
    changes = []
    http = _diff_fields(p_old, p_new, ("page_status", "page_error"))
    if http:
        ok = p_new.get("page_error") is None and 200 <= (p_new.get("page_status") or 0) < 300
        changes.append(
            _change(
                "page_status_changed",
                p_new,
                _http(p_old),
                _http(p_new),
                "improvement" if ok else "regression",
                http,
            )
        )
    moved = _moved_change(p_old, p_new)
    if moved is not None:
        changes.append(moved)
    if old.page is not None and new.page is not None:
        reasons_old = sorted(set(old.page.get("indexability") or []) - _STATUS_REASONS)
        reasons_new = sorted(set(new.page.get("indexability") or []) - _STATUS_REASONS)
        indexable_old, indexable_new = (
            bool(old.page.get("indexable")),
            bool(new.page.get("indexable")),
        )
        # Equal reasons but for "status": what changed is the HTTP status, reported above.
        if reasons_old != reasons_new:
            evidence: Evidence = {
                "page.indexable": {"old": indexable_old, "new": indexable_new},
                "page.indexability": {"old": reasons_old, "new": reasons_new},
                **_diff_fields(
                    old.page, new.page, ("meta_robots", "x_robots_tag", "canonical"), "page."
                ),
            }
            changes.append(
                _change(
                    "indexability_changed",
                    p_new,
                    reasons_old or "indexable",
                    reasons_new or "indexable",
                    _direction(indexable_old, indexable_new),
                    evidence,
                )
            )
    return changes


def _moved_change(p_old: Mapping[str, Any], p_new: Mapping[str, Any]) -> Change | None:
    """``page_moved``: the entry's page now lives elsewhere, or again at its own URL.

    Neutral: a link lost with its page is already ``lost``, whose reason says
    where the page went. Not between runs of which one could not tell
    (a page gone, or a run from before ``moved_to``).
    """
    if "page_error" in (p_old.get("status"), p_new.get("status")):
        return None
    if "moved_to" not in p_old or "moved_to" not in p_new:
        return None
    old, new = p_old["moved_to"], p_new["moved_to"]
    if (old and match_key(old)) == (new and match_key(new)):
        return None
    evidence = {"moved_to": {"old": old, "new": new}}
    # Shown as where the page was read: its own URL when it had not moved.
    lived, lives = old or p_old["url"], new or p_new["url"]
    return _change("page_moved", p_new, lived, lives, "neutral", evidence, p_new.get("reason"))


def _link_changes(
    p_old: Mapping[str, Any],
    p_new: Mapping[str, Any],
    page_old: Mapping[str, Any] | None,
    page_new: Mapping[str, Any] | None,
) -> list[Change]:
    old, new = p_old.get("link") or {}, p_new.get("link") or {}
    changes = []
    rel_old, rel_new = _rel(old), _rel(new)
    page_nf = _diff_fields(page_old or {}, page_new or {}, ("page_nofollow",), "page.")
    followed_old = not rel_old and p_old.get("status") != "nofollow"
    followed_new = not rel_new and p_new.get("status") != "nofollow"
    if rel_old != rel_new or page_nf or followed_old != followed_new:
        evidence = {"link.rel": {"old": old.get("rel"), "new": new.get("rel")}, **page_nf}
        changes.append(
            _change(
                "rel_changed",
                p_new,
                _passing(rel_old, page_old),
                _passing(rel_new, page_new),
                _direction(followed_old, followed_new),
                evidence,
            )
        )
    if fold_case(old.get("anchor_text")) != fold_case(new.get("anchor_text")):
        evidence = _diff_fields(old, new, ("anchor_text", "anchor_kind"), "link.")
        evidence |= _diff_fields(p_old, p_new, ("anchor_matches",))
        matched_before = p_old.get("anchor_matches") is True
        severity = (
            "regression" if matched_before and p_new.get("anchor_matches") is False else "neutral"
        )
        changes.append(
            _change(
                "anchor_changed",
                p_new,
                old.get("anchor_text"),
                new.get("anchor_text"),
                severity,
                evidence,
            )
        )
    if old.get("region") != new.get("region"):
        changes.append(
            _change(
                "region_changed",
                p_new,
                old.get("region"),
                new.get("region"),
                _direction(old.get("region") == "content", new.get("region") == "content"),
                _diff_fields(old, new, ("region", "position"), "link."),
            )
        )
    changes += _flag_change(p_old, p_new, "hidden", ("became_hidden", "became_visible"))
    changes += _flag_change(
        p_old, p_new, "rendered_only", ("became_rendered_only", "became_static")
    )
    # A link moved to another region has new surroundings by necessity: one change, not two.
    similarity = (
        _similarity(old.get("context"), new.get("context"))
        if old.get("region") == new.get("region")
        else 1.0
    )
    if similarity < CONTEXT_MIN_SIMILARITY:
        evidence = _diff_fields(old, new, ("context",), "link.")
        evidence["similarity"] = {"old": 1.0, "new": round(similarity, 3)}
        changes.append(
            _change(
                "context_changed",
                p_new,
                old.get("context"),
                new.get("context"),
                "neutral",
                evidence,
            )
        )
    return changes


def _flag_change(
    p_old: Mapping[str, Any], p_new: Mapping[str, Any], name: str, kinds: tuple[str, str]
) -> list[Change]:
    was = bool((p_old.get("link") or {}).get(name))
    now = bool((p_new.get("link") or {}).get(name))
    if was == now:
        return []
    kind = kinds[0] if now else kinds[1]
    evidence = {f"link.{name}": {"old": was, "new": now}}
    return [_change(kind, p_new, was, now, "regression" if now else "improvement", evidence)]


def _score_changes(
    p_new: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
) -> list[Change]:
    if old is None or new is None:
        return []
    before, after = float(old.get("score") or 0), float(new.get("score") or 0)
    if abs(after - before) < SCORE_MIN_DELTA:
        return []
    components_old = old.get("components") or {}
    components_new = new.get("components") or {}
    evidence: Evidence = {
        f"components.{name}": {"old": components_old.get(name), "new": components_new.get(name)}
        for name in sorted(set(components_old) | set(components_new))
        if components_old.get(name) != components_new.get(name)
    }
    evidence |= _diff_fields(old, new, ("flags",))
    return [
        _change(
            "score_changed",
            p_new,
            before,
            after,
            "improvement" if after > before else "regression",
            evidence,
        )
    ]


def resolve_recheck(current: Sequence[Change], prior: Sequence[Change]) -> list[Change]:
    """One placement's changes against the baseline after a recheck, with the alerts settled.

    ``prior`` are the changes the rechecked run showed against the same
    baseline. A regression seen by both runs, or seen by the recheck where
    the rechecked run could not read the page, is ``confirmed``; an alert of
    the rechecked run that the recheck no longer shows is ``withdrawn``,
    unless the recheck could not read the page either: then it stays an alert.
    """
    prior_kinds = {c.kind for c in prior if c.severity == "regression"}
    was_unverified = any(c.kind == "unverified" for c in prior)
    settled = [
        replace(c, state="confirmed")
        if c.severity == "regression" and (c.kind in prior_kinds or was_unverified)
        else c
        for c in current
    ]
    now_kinds = {c.kind for c in current if c.severity == "regression"}
    still_unverified = any(c.kind == "unverified" for c in current)
    for c in prior:
        if c.severity == "regression" and c.kind not in now_kinds:
            # A recheck that could not read the page either settles nothing: the alert stays.
            settled.append(c if still_unverified else replace(c, state="withdrawn"))
        elif c.kind == "unverified" and not still_unverified and not now_kinds:
            settled.append(replace(c, state="withdrawn"))
    return settled


def needs_recheck(placement: Mapping[str, Any], changes: Iterable[Change]) -> bool:
    """Whether a recheck should look at this placement again: it got worse, or went unread."""
    return placement.get("status") == INCONCLUSIVE or any(
        c.state in ("alert", "confirmed", "unverified") for c in changes
    )


def _change(
    kind: str,
    placement: Mapping[str, Any],
    old: Any,
    new: Any,
    severity: str,
    evidence: Evidence | None = None,
    reason: str | None = "",
) -> Change:
    state = {"regression": "alert", "unknown": "unverified"}.get(severity, "info")
    return Change(
        kind=kind,
        tier=int(placement["tier"]),
        url=str(placement["url"]),
        target=str(placement["target"]),
        old=old,
        new=new,
        severity=severity,
        state=state,
        evidence=evidence or {},
        reason=reason or "",
    )


def _diff_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str], prefix: str = ""
) -> Evidence:
    return {
        prefix + name: {"old": old.get(name), "new": new.get(name)}
        for name in names
        if old.get(name) != new.get(name)
    }


def _direction(good_before: bool, good_after: bool) -> str:
    if good_before == good_after:
        return "neutral"
    return "improvement" if good_after else "regression"


def _http(placement: Mapping[str, Any]) -> str:
    error = placement.get("page_error")
    return str(error) if error else f"HTTP {placement.get('page_status')}"


def shown(value: Any) -> str:
    """A change's old or new value as people read it: tokens (``["nofollow", "ugc"]``) as words."""
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def _passing(rel: list[str], page: Mapping[str, Any] | None) -> list[str]:
    """What a link's rel and its page say of it, shown as tokens: ``["follow"]`` if nothing."""
    page_wide = ["page-nofollow"] if (page or {}).get("page_nofollow") else []
    return [*rel, *page_wide] or ["follow"]


def _rel(link: Mapping[str, Any]) -> list[str]:
    return sorted(_REL_TOKENS.intersection(link.get("rel") or []))


def _similarity(a: Any, b: Any) -> float:
    words_a, words_b = fold_case(a).split(), fold_case(b).split()
    if words_a == words_b:
        return 1.0
    return difflib.SequenceMatcher(None, words_a, words_b, autojunk=False).ratio()
