"""The score of one placement: components (each 0-1), risk flags, a 0-100 total, a sentence.

Pure: every input is a stored document (``placements``, ``pages``, ``links``)
or a fact the scoring job computed over the whole run (relevance, anchor
class, anchor overuse, tier-2 support). Each component, signal, weight and
threshold is documented in ``docs/scoring.md``; change both together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tiercrawl.core.matching import moved_home, moved_note
from tiercrawl.core.relevance import Relevance
from tiercrawl.exceptions import TiercrawlError

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "FOUND_BAND",
    "STATUS_BANDS",
    "PlacementFacts",
    "Score",
    "Support",
    "commercial_domains",
    "content_offset",
    "merge_weights",
    "score_placement",
]

COMPONENTS = ("relevance", "placement", "attributes", "indexability", "anchor", "support")

# Points out of 100 when every component is 1. Tier-2 placements have no
# ``support``; their total is re-weighted over the other five.
DEFAULT_WEIGHTS: dict[str, float] = {
    "relevance": 25,
    "placement": 20,
    "attributes": 20,
    "indexability": 15,
    "anchor": 10,
    "support": 10,
}

# placement: where the link sits on the page.
REGION_FACTORS = {
    "content": 1.0,
    "aside": 0.4,
    "header": 0.35,
    "nav": 0.3,
    "comments": 0.3,
    "footer": 0.2,
}
UNKNOWN_REGION_FACTOR = 0.5
HIDDEN_FACTOR = 0.1
RENDERED_ONLY_FACTOR = 0.9
# Outbound external links a page may carry before each one is worth less.
OUTBOUND_FREE = 10
OUTBOUND_HALF = 50

# attributes: the strongest qualifier wins.
REL_FACTORS = {"nofollow": 0.2, "sponsored": 0.3, "ugc": 0.3}

# indexability: the worst reason wins.
INDEXABILITY_FACTORS = {"noindex": 0.0, "robots": 0.0, "status": 0.0, "canonicalised": 0.4}
UNKNOWN_REASON_FACTOR = 0.2

# anchor: a natural profile mixes branded, partial and descriptive anchors.
ANCHOR_FACTORS = {
    "branded": 1.0,
    "partial_match": 0.9,
    "other": 0.8,
    "naked_url": 0.75,
    "exact_match": 0.7,
    "image": 0.6,
    "generic": 0.5,
    "empty": 0.2,
}
EXACT_OVERUSE_FACTOR = 0.5
ANCHOR_MISMATCH_FACTOR = 0.8

# support: 1 - exp(-q / SUPPORT_SCALE), q the summed 0-1 scores of the found
# tier-2 links: one good tier-2 link gives about 0.4, three about 0.8.
SUPPORT_SCALE = 1.5

# A link that passes little (nofollow, a page search engines do not index)
# cannot be rescued by the other components: the weighted mean is multiplied
# by GATE_FLOOR + (1 - GATE_FLOOR) * min(attributes, indexability).
GATE_FLOOR = 0.5

# With no signal at all (no target text, no keywords), relevance is unknown.
NEUTRAL_RELEVANCE = 0.5
OFF_TOPIC_BELOW = 0.2

LINK_FARM_OUTBOUND = 100
LINK_FARM_COMMERCIAL_DOMAINS = 10
_COMMERCIAL_WORDS = """
    buy cheap casino casinos loan loans payday viagra cialis pills pharmacy discount discounts
    deal deals coupon coupons bet betting bets poker slots slot replica replicas sale shop
    insurance crypto forex essay essays escort escorts dating followers likes
"""
COMMERCIAL_TERMS = frozenset(_COMMERCIAL_WORDS.split())

# The band the total is scaled into, by status: a lost link (missing, or its
# page gone) always scores below a found one, an unread page (inconclusive,
# it may come back) above a lost link. Any other status: a link was found.
STATUS_BANDS = {"page_error": (0.0, 5.0), "missing": (0.0, 10.0), "inconclusive": (10.0, 20.0)}
FOUND_BAND = (10.0, 100.0)

_WORD = re.compile(r"\w+")


def merge_weights(*overrides: Mapping[str, Any] | None) -> dict[str, float]:
    """``DEFAULT_WEIGHTS`` with each override applied in turn (later wins).

    Raises ``TiercrawlError`` with one problem per bad key or value.
    """
    weights = dict(DEFAULT_WEIGHTS)
    problems: list[str] = []
    for override in overrides:
        for name, value in (override or {}).items():
            if name not in COMPONENTS:
                problems.append(
                    f"weights: unknown component {name!r} (known: {', '.join(COMPONENTS)})"
                )
            elif isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"weights: {name} must be a number, not {value!r}{_hint(value)}")
            elif not 0 <= value <= 1000 or math.isnan(value):
                problems.append(f"weights: {name} must be between 0 and 1000, not {value}")
            else:
                weights[name] = float(value)
    if not problems and not any(weights[name] for name in COMPONENTS if name != "support"):
        problems.append("weights: at least one component other than support must weigh > 0")
    if problems:
        raise TiercrawlError(problems[0], problems)
    return weights


def _hint(value: Any) -> str:
    """Why a number came as text: YAML 1.1 reads ``1e3`` (no dot, no sign) as a string."""
    if isinstance(value, str):
        with suppress(ValueError):
            number = float(value)
            if math.isfinite(number):
                return f" (YAML reads {value} as text: write {number:g} or {number:.1e})"
    return ""


@dataclass(frozen=True)
class Support:
    """The tier-2 links that point at one tier-1 page."""

    planned: int
    found: int
    live: int
    quality: float  # sum of the found tier-2 links' scores, each 0-1

    @property
    def value(self) -> float:
        return 1 - math.exp(-self.quality / SUPPORT_SCALE)


@dataclass(frozen=True)
class PlacementFacts:
    """Everything the score of one placement depends on."""

    placement: Mapping[str, Any]
    page: Mapping[str, Any] | None
    relevance: Relevance
    anchor_class: str | None = None
    exact_match_overuse: bool = False
    # Where the link sits in the page's main text: 0 at the start, 1 at the end.
    content_offset: float | None = None
    commercial_domains: int = 0
    support: Support | None = None


@dataclass(frozen=True)
class Score:
    score: float
    components: dict[str, float]
    flags: list[str]
    explanation: str


def commercial_domains(links: Iterable[Mapping[str, Any]]) -> int:
    """How many other registered domains a page links to with commercial anchor words."""
    external = [link for link in links if link.get("external")]
    anchors = [link.get("anchor_text") or "" for link in external]
    # Most pages have no such word at all: one look at all their anchors together, where
    # one per anchor cost a crawl 55 µs a page (anchors are mostly each page's own).
    if not _has_commercial_word(" ".join(anchors)):
        return 0
    domains = {
        link.get("domain")
        for link, anchor in zip(external, anchors, strict=True)
        if _has_commercial_word(anchor)
    }
    domains.discard(None)
    return len(domains)


def _has_commercial_word(text: str) -> bool:
    return not COMMERCIAL_TERMS.isdisjoint(_WORD.findall(text.lower()))


def content_offset(main_text: str, context: str, anchor: str) -> float | None:
    """Where a link sits in ``main_text`` (0 start, 1 end), found by its context and anchor.

    None when the main text does not hold it (a link outside the main content).
    """
    if not main_text:
        return None
    start = main_text.find(context[:80]) if context else -1
    if start >= 0 and anchor:
        inside = main_text.find(anchor, start)
        start = inside if inside >= 0 else start
    elif anchor:
        start = main_text.find(anchor)
    return start / len(main_text) if start >= 0 else None


def _placement_component(link: Mapping[str, Any], facts: PlacementFacts) -> float:
    region = REGION_FACTORS.get(link.get("region") or "", UNKNOWN_REGION_FACTOR)
    early = 1.0
    if facts.content_offset is not None and link.get("region") == "content":
        early = 1 - facts.content_offset
    outbound = int((facts.page or {}).get("outbound_links") or 0)
    dilution = 1 / (1 + max(0, outbound - OUTBOUND_FREE) / (OUTBOUND_HALF - OUTBOUND_FREE))
    value = region * (0.7 + 0.3 * early) * (0.5 + 0.5 * dilution)
    if link.get("hidden"):
        value *= HIDDEN_FACTOR
    if link.get("rendered_only"):
        value *= RENDERED_ONLY_FACTOR
    return value


def _rel_qualifiers(link: Mapping[str, Any], page: Mapping[str, Any] | None) -> list[str]:
    rel = set(link.get("rel") or ())
    found = [name for name in REL_FACTORS if link.get(name) or name in rel]
    if page and page.get("page_nofollow") and "nofollow" not in found:
        found.append("nofollow")
    return found


def _indexability_component(page: Mapping[str, Any] | None) -> float:
    if not page or page.get("status") is None:
        return 0.0
    if page.get("indexable"):
        return 1.0
    reasons = page.get("indexability") or ()
    return min((INDEXABILITY_FACTORS.get(r, UNKNOWN_REASON_FACTOR) for r in reasons), default=0.2)


def _anchor_component(facts: PlacementFacts) -> float:
    value = ANCHOR_FACTORS.get(facts.anchor_class or "empty", ANCHOR_FACTORS["other"])
    if facts.anchor_class == "exact_match" and facts.exact_match_overuse:
        value *= EXACT_OVERUSE_FACTOR
    if facts.placement.get("anchor_matches") is False:
        value *= ANCHOR_MISMATCH_FACTOR
    return value


def _flags(
    facts: PlacementFacts, link: Mapping[str, Any] | None, relevance: float | None
) -> list[str]:
    placement, page = facts.placement, facts.page or {}
    status = placement.get("status")
    flags: list[str] = []
    if status in STATUS_BANDS:
        flags.append(status)
    if moved := placement.get("moved_to"):
        home = moved_home(str(placement.get("url") or ""), moved)
        flags.append("redirected_home" if home else "page_moved")
    if link is not None:
        qualifiers = _rel_qualifiers(link, page)
        if qualifiers:
            flags.append("nofollow")
        flags += [q for q in ("sponsored", "ugc") if q in qualifiers]
        if link.get("hidden"):
            flags.append("hidden_link")
        region = link.get("region")
        if region == "footer":
            flags.append("footer_link")
        elif region in ("nav", "header", "aside", "comments"):
            flags.append(f"{region}_link")
        if link.get("rendered_only"):
            flags.append("rendered_only")
        if facts.anchor_class == "exact_match" and facts.exact_match_overuse:
            flags.append("exact_match_overuse")
        if placement.get("anchor_matches") is False:
            flags.append("anchor_mismatch")
    # A page that was not read (or is gone) says nothing about its indexing or topic.
    read = status not in STATUS_BANDS or status == "missing"
    if read and not page.get("indexable"):
        flags.append("not_indexable")
    if read and relevance is not None and relevance < OFF_TOPIC_BELOW:
        flags.append("off_topic")
    outbound = int(page.get("outbound_links") or 0)
    if outbound >= LINK_FARM_OUTBOUND or facts.commercial_domains >= LINK_FARM_COMMERCIAL_DOMAINS:
        flags.append("link_farm")
    if facts.support is not None and facts.support.found == 0:
        flags.append("no_tier2_support")
    return flags


def score_placement(facts: PlacementFacts, weights: Mapping[str, float]) -> Score:
    """Score one placement with ``weights`` (see ``merge_weights``)."""
    placement = facts.placement
    link = placement.get("link") if placement.get("found") else None
    relevance = facts.relevance.value
    components = {
        "relevance": NEUTRAL_RELEVANCE if relevance is None else relevance,
        "placement": _placement_component(link, facts) if link else 0.0,
        "attributes": (
            min((REL_FACTORS[q] for q in _rel_qualifiers(link, facts.page)), default=1.0)
            if link
            else 0.0
        ),
        "indexability": _indexability_component(facts.page),
        "anchor": _anchor_component(facts) if link else 0.0,
    }
    if facts.support is not None:
        components["support"] = facts.support.value
    components = {name: round(value, 4) for name, value in components.items()}
    total_weight = sum(weights[name] for name in components)
    total = 100 * sum(weights[name] * value for name, value in components.items())
    total = total / total_weight if total_weight else 0.0
    total *= GATE_FLOOR + (1 - GATE_FLOOR) * min(
        components["attributes"] if link else 1.0, components["indexability"]
    )
    low, high = STATUS_BANDS.get(placement.get("status") or "", FOUND_BAND)
    total = low + (high - low) * total / 100
    flags = _flags(facts, link, relevance)
    return Score(
        score=round(total, 1),
        components=components,
        flags=flags,
        explanation=explain(facts, link, components, flags),
    )


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f'"{text[: limit - 1]}…"' if len(text) > limit else f'"{text}"'


def _page_problem(page: Mapping[str, Any] | None) -> str:
    if not page:
        return "not crawled"
    return str(page.get("error") or (f"HTTP {page['status']}" if page.get("status") else "error"))


def explain(
    facts: PlacementFacts,
    link: Mapping[str, Any] | None,
    components: Mapping[str, float],
    flags: list[str],
) -> str:
    """One line a user can read: the verdict, what the link is, and the risks."""
    status = facts.placement.get("status") or "unknown"
    target = facts.placement.get("target", "")
    if status == "page_error":
        head = f"page error ({_page_problem(facts.page)}): the page is gone, the link is lost"
    elif status == "inconclusive":
        head = (
            f"inconclusive ({_page_problem(facts.page)}): the page could not be read, "
            "no verdict yet; scored low until a crawl reads it"
        )
    elif link is None:
        head = f"missing: the page was read and has no link to {target}"
    else:
        region = link.get("region") or "unknown-region"
        qualifiers = _rel_qualifiers(link, facts.page)
        rel = "/".join(qualifiers) if qualifiers else "dofollow"
        anchor_class = (facts.anchor_class or "empty").replace("_", "-")
        anchor = link.get("anchor_text") or ""
        head = f"{status}: {region} link, {rel}, {anchor_class} anchor"
        if anchor:
            head += f" {_quote(anchor)}"
        head += f", relevance {components['relevance']:.2f}"
        if facts.relevance.value is None:
            head += " (unknown: no target text or keywords)"
    parts = [head]
    if moved := moved_note(str(facts.placement.get("url") or ""), facts.placement.get("moved_to")):
        parts.append(moved)
    if facts.support is not None:
        parts.append(
            f"{facts.support.live} live of {facts.support.planned} planned tier-2 links"
            if facts.support.planned
            else "no tier-2 links planned"
        )
    risks = [flag for flag in flags if flag != status]
    if risks:
        parts.append("risks: " + ", ".join(risks))
    return "; ".join(parts)
