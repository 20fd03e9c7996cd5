"""Whether a crawled page can be indexed, and why not.

A link only helps when the page carrying it can be indexed, so every page gets
``indexable`` and the list of reasons it is not (``pages.indexability``):

``error``
    the download failed and there is no response at all
``status``
    a response that is not 2xx (or none, without a download error either)
``robots``
    robots.txt disallows the page, to tiercrawl or to Googlebot (a
    ``User-agent: Googlebot`` group closes it to Google alone)
``noindex``
    meta robots or X-Robots-Tag says ``noindex`` (or ``none``)
``canonicalised``
    the canonical URL is another page; ``www.``, a trailing slash or
    tracking parameters do not make another page (`tiercrawl.core.urls.match_key`)

Robots directives are kept as lower-case tokens (``"NOINDEX, nofollow"`` →
``["noindex", "nofollow"]``). ``none`` is kept as written and read as
``noindex, nofollow``. Directives with a value (``max-snippet: 20``,
``unavailable_after: <date>``) are kept by name only: tiercrawl does not act on
their values, so a page with ``unavailable_after`` stays indexable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tiercrawl.core.urls import match_key

__all__ = ["assess", "page_nofollow", "robots_tokens", "x_robots_tokens"]

_VALUED_DIRECTIVES = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)
# A directive is one word; anything else is the tail of a value, such as the
# "25-Jun-2010 15:00:00 GMT" of "unavailable_after: Friday, 25-Jun-2010 ...".
_DIRECTIVE = re.compile(r"[a-z][a-z_-]*")
_AGENT = re.compile(r"[a-z][a-z0-9_.-]*")


def _pieces(content: str) -> list[str]:
    pieces = []
    for piece in content.split(","):
        piece = piece.strip().lower()
        # "noindex nofollow" is a common mistake for "noindex, nofollow".
        pieces.extend([piece] if ":" in piece else piece.split())
    return pieces


def _directive(piece: str) -> str | None:
    name = piece.split(":", 1)[0].strip()
    return name if _DIRECTIVE.fullmatch(name) else None


def robots_tokens(content: str) -> list[str]:
    """The directives of a meta robots ``content``, lower-cased, each once, in order."""
    tokens: list[str] = []
    for piece in _pieces(content):
        token = _directive(piece)
        if token and token not in tokens:
            tokens.append(token)
    return tokens


def x_robots_tokens(values: Iterable[str], *, bot: str = "googlebot") -> list[str]:
    """The directives of X-Robots-Tag header ``values`` that apply to ``bot``.

    A value may name the crawler it is for (``googlebot: noindex``); the name
    holds for the rest of that value. Directives for other crawlers are dropped,
    unnamed ones apply to all.
    """
    bot = bot.lower()
    tokens: list[str] = []
    for value in values:
        agent: str | None = None
        for piece in _pieces(value):
            name, _, rest = (part.strip() for part in piece.partition(":"))
            if rest and _AGENT.fullmatch(name) and name not in _VALUED_DIRECTIVES:
                agent = name
                # "googlebot: noindex nofollow": the same mistake after a crawler's name.
                directives = [rest] if ":" in rest else rest.split()
            else:
                directives = [piece]
            for directive in directives:
                token = _directive(directive)
                if token and agent in (None, bot) and token not in tokens:
                    tokens.append(token)
    return tokens


def _says(tokens: Iterable[str], directive: str) -> bool:
    return any(token in (directive, "none") for token in tokens)


def assess(
    *,
    status: int | None,
    error: str | None,
    robots_allowed: bool,
    meta_robots: Sequence[str],
    x_robots_tag: Sequence[str],
    canonical: str | None,
    final_url: str | None,
) -> tuple[bool, list[str]]:
    """``(indexable, reasons)`` for a crawled page; the reasons are listed in the module doc."""
    reasons = []
    if status is None and error:
        reasons.append("error")
    elif status is None or not 200 <= status < 300:
        reasons.append("status")
    if not robots_allowed:
        reasons.append("robots")
    if _says(meta_robots, "noindex") or _says(x_robots_tag, "noindex"):
        reasons.append("noindex")
    if canonical and final_url and match_key(canonical) != match_key(final_url):
        reasons.append("canonicalised")
    return not reasons, reasons


def page_nofollow(meta_robots: Sequence[str], x_robots_tag: Sequence[str]) -> bool:
    """Whether the page tells crawlers not to follow any of its links (``nofollow`` or ``none``)."""
    return _says(meta_robots, "nofollow") or _says(x_robots_tag, "nofollow")
