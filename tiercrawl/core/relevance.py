"""Topical relevance of a linking page to the page it links to.

TF-IDF cosine over the run's own pages: the inverse document frequencies come
from every page of the run (linking pages and targets), so words that every
page of a niche shares weigh less than the words that set a topic apart. The
method was compared with a small sentence-embedding model on a labelled set of
real pages (``bench/relevance_eval.py``, figures in ``docs/scoring.md``), and
ranked better.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "COSINE_FLOOR",
    "COSINE_FULL",
    "TEXT_LIMIT",
    "Relevance",
    "TfidfIndex",
    "calibrate",
    "cosine",
    "placement_relevance",
    "tokens",
]

# Only the start of a page's main text is read: the topic is set there, and it
# bounds the cost of a long page.
TEXT_LIMIT = 10_000

# On the labelled set (docs/scoring.md) three quarters of unrelated page pairs
# have a cosine under COSINE_FLOOR, and two halves of one page a median of
# 0.26; the 0-1 relevance is linear from COSINE_FLOOR to COSINE_FULL.
COSINE_FLOOR = 0.04
COSINE_FULL = 0.25

# How the signals combine; a missing signal (no target text, no keywords) is
# left out and the rest re-weighted.
SIGNAL_WEIGHTS = {"page_target": 0.5, "context_target": 0.2, "keywords": 0.3}

_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORD_LIST = """
    about above after again against all also and any are because been before being below
    between both but can could did does doing down during each few for from further had has
    have having her here hers herself him himself his how into its itself just more most
    not now off once only other our ours ourselves out over own same she should some such
    than that the their theirs them themselves then there these they this those through too
    under until very was were what when where which while who whom why will with would you
    your yours yourself yourselves one two new may might must shall get got use used using
    like make made many much per via even well back still way know see said says
"""
_STOPWORDS = frozenset(_STOPWORD_LIST.split())


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str | None:
    if word in _STOPWORDS:
        return None
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> Counter[str]:
    """Term counts of ``text``: folded words of 3+ letters, stopwords out, plurals folded."""
    folded = unicodedata.normalize("NFKC", text[:TEXT_LIMIT]).casefold()
    counts: Counter[str] = Counter()
    for word, n in Counter(_WORD.findall(folded)).items():
        stem = _stem(word)
        if stem is not None:
            counts[stem] += n
    return counts


Vector = dict[str, float]


class TfidfIndex:
    """Document frequencies over a run's pages; turns texts into unit TF-IDF vectors."""

    def __init__(self, documents: Iterable[str]) -> None:
        df: Counter[str] = Counter()
        count = 0
        for text in documents:
            df.update(tokens(text).keys())
            count += 1
        self.documents = count
        # Smoothed IDF (as scikit-learn's): a word in every page still weighs 1.
        self._idf = {term: math.log((1 + count) / (1 + n)) + 1 for term, n in df.items()}
        self._unseen = math.log(1 + count) + 1

    def vector(self, text: str) -> Vector:
        """``text`` as a unit-length TF-IDF vector (sublinear term frequency)."""
        return self.weigh(tokens(text))

    def weigh(self, counts: Mapping[str, int]) -> Vector:
        """Term counts (`tokens`) as a unit-length TF-IDF vector."""
        weights = {
            term: (1 + math.log(n)) * self._idf.get(term, self._unseen)
            for term, n in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {term: w / norm for term, w in weights.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())


def calibrate(value: float) -> float:
    """A cosine mapped to 0-1, linear between ``COSINE_FLOOR`` and ``COSINE_FULL``."""
    return min(1.0, max(0.0, (value - COSINE_FLOOR) / (COSINE_FULL - COSINE_FLOOR)))


@dataclass(frozen=True)
class Relevance:
    """A placement's relevance (0-1) and the signals it came from (None: not available)."""

    value: float | None
    page_target: float | None = None
    context_target: float | None = None
    keywords: float | None = None


def _keyword_coverage(keywords: Iterable[str], found: AbstractSet[str]) -> float | None:
    wanted: set[str] = set()
    for keyword in keywords:
        wanted.update(tokens(keyword))
    if not wanted:
        return None
    return len(wanted & found) / len(wanted)


def placement_relevance(
    index: TfidfIndex,
    *,
    page_text: str,
    context: str = "",
    anchor: str = "",
    target_text: str = "",
    keywords: Iterable[str] = (),
    page_counts: Counter[str] | None = None,
    target_vector: Vector | None = None,
) -> Relevance:
    """Relevance of a link from a page (``page_text``, the link's ``context``) to its target.

    Signals: the calibrated TF-IDF cosine of the page to the target page, of
    the link context to the target page, and the share of the campaign
    keywords' words found in the page and context. The ``anchor`` is taken out
    of the context and, once, out of the page first: the link builder chose
    it, so it says nothing about the page's topic (a pasta recipe linking
    "cordless drill" is no page about drills). A page's `tokens` or the
    target's vector, already computed, can be passed in to skip re-tokenising.
    """
    counts = page_counts if page_counts is not None else tokens(page_text)
    if anchor:
        context = context.replace(anchor, " ")
        counts = counts - tokens(anchor)
    signals: dict[str, float] = {}
    page = index.weigh(counts)
    if target_text or target_vector:
        target = target_vector if target_vector is not None else index.vector(target_text)
        if page and target:
            signals["page_target"] = calibrate(cosine(page, target))
        if context and target:
            signals["context_target"] = calibrate(cosine(index.vector(context), target))
    words = page.keys() | tokens(context).keys()
    # A page with no text (an image, an error page) says nothing of its topic.
    coverage = _keyword_coverage(keywords, words) if words else None
    if coverage is not None:
        signals["keywords"] = coverage
    if not signals:
        return Relevance(None)
    total = sum(SIGNAL_WEIGHTS[name] for name in signals)
    value = sum(SIGNAL_WEIGHTS[name] * v for name, v in signals.items()) / total
    return Relevance(
        round(value, 4),
        page_target=signals.get("page_target"),
        context_target=signals.get("context_target"),
        keywords=signals.get("keywords"),
    )
