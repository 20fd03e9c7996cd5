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

from tiercrawl.core.urls import has_public_suffix, is_http_url

__all__ = [
    "ANCHOR_CLASSES",
    "EXACT_MATCH_MIN_LINKS",
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
# Below this many found links a share is no profile: 1 exact-match anchor of 1 is 100 %.
EXACT_MATCH_MIN_LINKS = 10

# Anchors that say nothing of the target, in the languages link builders work in most.
_GENERIC_PHRASES = (
    # English
    "click here", "here", "click", "this", "this link", "this page", "this site",
    "this website", "this article", "link", "website", "web site", "site", "homepage",
    "home page", "visit", "visit site", "visit website", "visit the website",
    "visit our website", "go", "go here", "go to website", "go to site", "view website",
    "read more", "more", "more here", "learn more", "more info", "more information",
    "find out more", "see more", "details", "source", "official site", "official website",
    "check it out", "continue reading", "view", "view more", "next", "url",
    # German
    "hier", "hier klicken", "klicken sie hier", "mehr", "mehr erfahren", "mehr lesen",
    "weiterlesen", "mehr info", "mehr infos", "mehr informationen", "zur website",
    "zur webseite", "webseite", "quelle", "details ansehen",
    # French
    "ici", "cliquez ici", "cliquer ici", "en savoir plus", "lire la suite", "lire plus",
    "plus d'infos", "plus d'informations", "voir plus", "site web", "lien", "ce site",
    # Spanish
    "aquí", "haga clic aquí", "haz clic aquí", "clic aquí", "leer más", "más información",
    "ver más", "sitio web", "página web", "fuente", "enlace", "este sitio",
    # Italian
    "qui", "clicca qui", "leggi di più", "scopri di più", "maggiori informazioni",
    "sito web", "fonte",
    # Dutch
    "klik hier", "lees meer", "meer informatie", "meer info", "bekijk", "bron",
)  # fmt: skip

_WORD = re.compile(r"\w+")
_URL_LIKE = re.compile(
    r"^(?:https?://)?(?P<www>www\.)?(?P<host>[\w-]+(?:\.[\w-]+)*\.[a-z]{2,})"
    r"(?P<rest>(?::\d+)?[/?#]\S*|:\d+)?$",
    re.IGNORECASE,
)


def _stem(word: str) -> str:
    # Light (English) plural folding is enough to make "cordless drills" match "cordless
    # drill"; "hoodie" and "hoodies" both become "hoody".
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ie"):
        return word[:-2] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Left out before folding: a soft hyphen shows nothing, and a trademark sign stuck to a
# brand ("Acme™", which NFKD spells "AcmeTM") is no part of its word.
_INVISIBLE_MARKS = str.maketrans({"\u00ad": None, "\u2122": " ", "\u2120": " ", "\u00ae": " "})


def _folded(text: str) -> str:
    """``text`` compared as searchers type it: case-folded, compatibility forms unified,
    accents dropped ("inalámbrico" is "inalambrico", "Peña" is "pena")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_INVISIBLE_MARKS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _phrase(text: str) -> str:
    return " ".join(_WORD.findall(_folded(text)))


GENERIC_ANCHORS = frozenset(_phrase(phrase) for phrase in _GENERIC_PHRASES)


def terms(text: str) -> tuple[str, ...]:
    """``text`` as folded, lightly stemmed words: the unit anchors are compared in."""
    return tuple(_stem(word) for word in _WORD.findall(_folded(text)))


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

    ``kind`` is the link's ``anchor_kind`` (``text``/``image``/``empty``); an
    image link's text is its alt text, which search engines read as its anchor.
    Precedence, first match wins: empty, naked URL, branded (a brand term
    anywhere, so "Acme cordless drills" is branded), exact match (the anchor
    is a keyword), generic, partial match (a keyword inside the anchor, or
    half of a keyword's words), image (an image link's alt text of none of
    these), other.
    """
    text = (text or "").strip()
    words = terms(text)
    if kind == "empty" or not words:
        return "empty"
    if _is_naked_url(text):
        return "naked_url"
    if any(_contains(words, terms(term)) for term in brand):
        return "branded"
    keyword_terms = [t for t in (terms(k) for k in keywords) if t]
    if any(words == kw for kw in keyword_terms):
        return "exact_match"
    # Before partial: "learn more" shares a word with "learn guitar", and says nothing.
    if _phrase(text) in GENERIC_ANCHORS:
        return "generic"
    anchor_words = set(words)
    for kw in keyword_terms:
        if _contains(words, kw) or (len(anchor_words & set(kw)) * 2 >= len(kw) > 1):
            return "partial_match"
    return "image" if kind == "image" else "other"


def _is_naked_url(text: str) -> bool:
    """An http(s) URL, or a host name: with ``www.``, a path or port, or a public suffix
    ("acme.co.uk"), not merely a dot ("Node.js", "Dr.Oetker")."""
    if is_http_url(text):
        return True
    found = _URL_LIKE.match(text)
    if found is None:
        return False
    host = found.group("host").lower()
    return bool(found.group("www") or found.group("rest")) or has_public_suffix(host)


@dataclass(frozen=True)
class AnchorDistribution:
    """How a campaign's found anchors split into classes."""

    counts: dict[str, int]
    total: int
    threshold: float = EXACT_MATCH_OVERUSE_SHARE
    min_links: int = EXACT_MATCH_MIN_LINKS

    def share(self, anchor_class: str) -> float:
        return self.counts.get(anchor_class, 0) / self.total if self.total else 0.0

    @property
    def exact_match_overuse(self) -> bool:
        """More exact-match anchors than ``threshold`` of the found links, of at least
        ``min_links`` found links."""
        return self.total >= self.min_links and self.share("exact_match") > self.threshold


def anchor_distribution(
    classes: Iterable[str],
    threshold: float = EXACT_MATCH_OVERUSE_SHARE,
    min_links: int = EXACT_MATCH_MIN_LINKS,
) -> AnchorDistribution:
    """Count ``classes`` (one per found link) in every class, zeros included."""
    counted = Counter(classes)
    counts = {name: counted.get(name, 0) for name in ANCHOR_CLASSES}
    return AnchorDistribution(counts, sum(counted.values()), threshold, min_links)
