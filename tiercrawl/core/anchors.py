"""Anchor-text classes and the campaign's anchor distribution.

Search engines read an unnatural share of exact-match keyword anchors as a
sign of manipulation, so each anchor is put in one class from the campaign's
keywords and brand terms, and the campaign-level distribution is checked for
overuse. The classes, their precedence and the overuse threshold are
documented in ``docs/scoring.md``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ANCHOR_CLASSES",
    "EXACT_MATCH_OVERUSE_SHARE",
    "AnchorDistribution",
    "anchor_distribution",
    "classify_anchor",
    "terms",
]

# In the order a report lists them.
ANCHOR_CLASSES = (
    "exact_match",
    "partial_match",
    "branded",
    "naked_url",
    "generic",
    "image",
    "empty",
    "other",
)

# Link-building guides put a natural profile's exact-match share at 1-10 %;
# past 30 % of a campaign's found links the profile reads as built.
EXACT_MATCH_OVERUSE_SHARE = 0.30

GENERIC_ANCHORS = frozenset(
    {
        "click here",
        "here",
        "click",
        "this",
        "this link",
        "this page",
        "this site",
        "this website",
        "this article",
        "link",
        "website",
        "web site",
        "site",
        "homepage",
        "home page",
        "visit",
        "visit site",
        "visit website",
        "visit the website",
        "go",
        "go here",
        "read more",
        "more",
        "learn more",
        "more info",
        "more information",
        "find out more",
        "see more",
        "details",
        "source",
        "official site",
        "official website",
        "check it out",
        "continue reading",
        "view",
        "view more",
        "next",
        "url",
    }
)

_WORD = re.compile(r"\w+")
_URL_LIKE = re.compile(
    r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?$",
    re.IGNORECASE,
)


def _stem(word: str) -> str:
    # Light plural folding is enough to make "cordless drills" match "cordless drill".
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> tuple[str, ...]:
    """``text`` as folded, lightly stemmed words: the unit anchors are compared in."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple(_stem(word) for word in _WORD.findall(folded))


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    size = len(needle)
    return size > 0 and any(
        tuple(haystack[i : i + size]) == tuple(needle) for i in range(len(haystack) - size + 1)
    )


def classify_anchor(
    text: str | None,
    *,
    kind: str = "text",
    keywords: Iterable[str] = (),
    brand: Iterable[str] = (),
) -> str:
    """The class of one anchor: one of ``ANCHOR_CLASSES``.

    ``kind`` is the link's ``anchor_kind`` (``text``/``image``/``empty``).
    Precedence, first match wins: empty, image, naked URL, branded (a brand
    term anywhere, so "Acme cordless drills" is branded), exact match (the
    anchor is a keyword), partial match (a keyword inside the anchor, or half
    of a keyword's words), generic, other.
    """
    text = (text or "").strip()
    words = terms(text)
    if kind == "empty" or not words:
        return "empty"
    if kind == "image":
        return "image"
    if _URL_LIKE.match(text):
        return "naked_url"
    if any(_contains(words, terms(term)) for term in brand):
        return "branded"
    keyword_terms = [t for t in (terms(k) for k in keywords) if t]
    if any(words == kw for kw in keyword_terms):
        return "exact_match"
    anchor_words = set(words)
    for kw in keyword_terms:
        if _contains(words, kw) or (len(anchor_words & set(kw)) * 2 >= len(kw) > 1):
            return "partial_match"
    if " ".join(_WORD.findall(text.casefold())) in GENERIC_ANCHORS:
        return "generic"
    return "other"


@dataclass(frozen=True)
class AnchorDistribution:
    """How a campaign's found anchors split into classes."""

    counts: dict[str, int]
    total: int
    threshold: float = EXACT_MATCH_OVERUSE_SHARE

    def share(self, anchor_class: str) -> float:
        return self.counts.get(anchor_class, 0) / self.total if self.total else 0.0

    @property
    def exact_match_overuse(self) -> bool:
        """More exact-match anchors than ``threshold`` of the found links."""
        return self.share("exact_match") > self.threshold


def anchor_distribution(
    classes: Iterable[str], threshold: float = EXACT_MATCH_OVERUSE_SHARE
) -> AnchorDistribution:
    """Count ``classes`` (one per found link) in every class, zeros included."""
    counted = Counter(classes)
    counts = {name: counted.get(name, 0) for name in ANCHOR_CLASSES}
    return AnchorDistribution(counts=counts, total=sum(counted.values()), threshold=threshold)
