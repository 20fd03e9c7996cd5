"""The verdict on one campaign entry: is its link on the page, and does it count?

`evaluate_placement` reads the stored ``pages`` document of the entry's url and
its ``links`` documents, and gives the contract's ``placements`` fields (§3).
Where several statuses apply the first of these wins:

``page_error``
    the page is gone: HTTP 404/410, or its host does not resolve
``inconclusive``
    the page could not be read in a way that proves absence: no crawl, a
    download error (``timeout``, ``robots``, ``not_html``, ...), 401/403/429,
    5xx or another non-2xx status, or, when the link is not found, a page that
    looks like a firewall or bot challenge
``missing``
    the page was read and no link points at the target
``not_indexable``
    the link is there, but the page cannot be indexed
``nofollow``
    every matching link is nofollow/sponsored/ugc, or the page says nofollow
``live``
    a followed link on an indexable page

A link points at the target when `tiercrawl.core.urls.match_key` makes them
equal, for the target itself or any URL it is known to redirect to. The extra
fields ``reason`` (a short why), ``page_status`` and ``page_error`` save
reports a lookup; ``moved_to`` is where a read page now lives when that is
not the entry's URL (`moved_to`): a deleted post redirected to its site's
home page is the commonest way a link is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tiercrawl.core.campaign import Entry
from tiercrawl.core.render import RENDER_FAILED
from tiercrawl.core.text import fold_case
from tiercrawl.core.urls import match_domain, match_key, site_domain

__all__ = [
    "ABSENT_STATUSES",
    "FOUND_STATUSES",
    "INCONCLUSIVE",
    "STATUSES",
    "VERDICT_PAGE_FIELDS",
    "evaluate_placement",
    "links_to_domains",
    "looks_like_challenge",
    "moved_home",
    "moved_note",
    "moved_to",
    "target_domains",
]

STATUSES = ("page_error", "inconclusive", "missing", "not_indexable", "nofollow", "live")
# What a verdict says of the link: on the page, or not (the page read without it, or
# gone); ``inconclusive`` says nothing.
FOUND_STATUSES = frozenset({"live", "nofollow", "not_indexable"})
ABSENT_STATUSES = frozenset({"missing", "page_error"})
INCONCLUSIVE = "inconclusive"

# The ``pages`` fields `evaluate_placement` reads: a job reads only these of each page.
VERDICT_PAGE_FIELDS = frozenset(
    {
        "status",
        "error",
        "challenge",
        "truncated",
        "render_reason",
        "rendered",
        "indexable",
        "indexability",
        "page_nofollow",
        "final_url",
    }
)

_UNREAD = frozenset({"page_error", "inconclusive"})
_GONE_STATUSES = frozenset({404, 410})
_GONE_ERRORS = frozenset({"dns"})

# Titles of the interstitial pages that Cloudflare, Akamai, Imperva,
# PerimeterX, DataDome, Sucuri, DDoS-Guard and plain captcha walls serve: the
# whole title, or its start up to a separator ("Attention Required! | Cloudflare"),
# so that an article titled "Access denied errors: how to fix a 403" is none.
_CHALLENGE_TITLE = re.compile(
    r"\s*(?:just a moment|attention required|access denied|checking your browser|"
    r"security check|verify(ing)? you are (a )?human|are you a robot|captcha|"
    r"ddos-guard|pardon our interruption|one more step|request unsuccessful|"
    r"access to this page has been denied|bot verification|please wait)"
    r"\s*(?:$|[|:.!?\u2026(\[\u2013\u2014-])",
    re.IGNORECASE,
)
_CHALLENGE_TEXT = re.compile(
    r"checking (if the site connection is secure|your browser)|enable javascript and cookies|"
    r"verify (that )?you are (a )?human|complete the security check|captcha|"
    r"incapsula incident|ddos protection by|cloudflare ray id|press (&|and) hold|"
    r"unusual traffic from your (computer )?network",
    re.IGNORECASE,
)
# A challenge page is short; a real article may mention "captcha".
_CHALLENGE_MAX_WORDS = 150


def looks_like_challenge(title: str | None, main_text: str, word_count: int) -> bool:
    """Whether a page looks like a firewall or bot challenge rather than the real page.

    Such a page proves nothing about the link, so a link missing from it is no
    ``missing`` verdict. Decided, for a short page only, from its title or its
    text; the crawl stores the answer as the page's ``challenge`` field, as the
    verdicts are given without reading the pages' text back.
    """
    if word_count > _CHALLENGE_MAX_WORDS:
        return False
    return bool(_CHALLENGE_TITLE.match(title or "") or _CHALLENGE_TEXT.search(main_text))


def moved_to(url: str, page: Mapping[str, Any] | None) -> str | None:
    """Where the page of ``url`` now lives, if not at ``url``: its final URL, after redirects
    (or a script's navigation), when that is another page than ``url`` in another form
    (``https``, ``www.``, a slash, tracking parameters); None otherwise."""
    final = (page or {}).get("final_url")
    if not final or _address(final) == _address(url):
        return None
    return str(final)


def _address(url: str) -> str:
    return match_key(url).partition("://")[2]


def _is_home_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def moved_home(url: str, moved: str | None) -> bool:
    """Whether the page of ``url`` moved (`moved_to`) to its site's home page: the post is
    most likely gone, and the redirect only keeps its visitors."""
    return moved is not None and _is_home_page(moved) and not _is_home_page(url)


def moved_note(url: str, moved: str | None) -> str | None:
    """Where the page of ``url`` went, in words, if it moved (`moved_to`)."""
    if moved is None:
        return None
    if moved_home(url, moved):
        return f"the page redirects to its site's home page {moved}: the post is likely gone"
    return f"the page moved to {moved}"


def _followed(link: Mapping[str, Any]) -> bool:
    return not (link.get("nofollow") or link.get("sponsored") or link.get("ugc"))


def _anchor_ok(link: Mapping[str, Any], expected: str | None) -> bool:
    return expected is not None and fold_case(link.get("anchor_text")) == fold_case(expected)


def _best(links: Sequence[Mapping[str, Any]], expected: str | None) -> Mapping[str, Any] | None:
    """The link that speaks best for the placement: followed, visible, the agreed anchor, in the content, early.

    Followed and visible first, so that the link shown is one that bears out
    the status: a ``live`` placement never shows a nofollow link.
    """

    def rank(link: Mapping[str, Any]) -> tuple[bool, bool, bool, bool, int]:
        position = link.get("position")
        return (
            not _followed(link),
            bool(link.get("hidden")),
            not _anchor_ok(link, expected),
            link.get("region") != "content",
            position if isinstance(position, int) else 1 << 30,
        )

    return min(links, key=rank, default=None)


def _unread(page: Mapping[str, Any], found: bool) -> tuple[str, str] | None:
    """``(status, reason)`` when the page was not read well enough for a verdict on the link."""
    status, error = page.get("status"), page.get("error")
    if status in _GONE_STATUSES:
        return "page_error", f"HTTP {status}: the page is gone"
    if error in _GONE_ERRORS:
        return "page_error", f"{error} failure: the host is gone"
    if error:
        return "inconclusive", f"page not read: {error}"
    if status is None:
        return "inconclusive", "page not read: no response"
    if not 200 <= status < 300:
        return "inconclusive", f"page not read: HTTP {status}"
    if not found and page.get("challenge"):
        return "inconclusive", "page not read: firewall or bot challenge"
    if not found and page.get("truncated"):
        return "inconclusive", "page not read whole: nested deeper than the parser reads"
    # The marker is the reason's last part: the reason before it may quote the page.
    reason, failed, why = (page.get("render_reason") or "").rpartition(RENDER_FAILED)
    if not found and failed and not page.get("rendered"):
        # Rendered because its links may come from scripts: without them, no verdict.
        return "inconclusive", f"page not read: its render failed ({why}; rendered for {reason})"
    return None


def _verdict(
    page: Mapping[str, Any] | None, matching: Sequence[Mapping[str, Any]]
) -> tuple[str, str]:
    if page is None:
        return "inconclusive", "page not crawled"
    unread = _unread(page, bool(matching))
    if unread is not None:
        return unread
    if not matching:
        return "missing", "no link to the target on the page"
    if page.get("indexable") is False:
        why = ", ".join(page.get("indexability") or []) or "not indexable"
        return "not_indexable", f"page not indexable: {why}"
    if page.get("page_nofollow"):
        return "nofollow", "the page says nofollow for all its links"
    if not any(_followed(link) for link in matching):
        return "nofollow", "every link to the target is nofollow, sponsored or ugc"
    return "live", "followed link on an indexable page"


def evaluate_placement(
    entry: Entry,
    page: Mapping[str, Any] | None,
    links: Sequence[Mapping[str, Any]],
    *,
    target_aliases: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``placements`` fields for ``entry`` (all but ``run_id`` and ``campaign``).

    ``page`` is the ``pages`` document of ``entry.url`` (None if it was not
    crawled) and ``links`` its ``links`` documents. ``target_aliases`` are the
    URLs the target is known to resolve to (its final URL and redirects), so a
    link to the old address of a moved target still counts.
    """
    keys = {match_key(entry.target)} | {match_key(alias) for alias in target_aliases if alias}
    matching = [link for link in links if match_key(link.get("url") or "") in keys]
    status, reason = _verdict(page, matching)
    moved = None
    if status in _UNREAD:
        # An error page's links are not the page's: a 404 or 503 body proves no link,
        # and must not count toward the anchor profile nor earn a score.
        matching = []
    else:
        moved = moved_to(entry.url, page)
        if note := moved_note(entry.url, moved):
            reason += f"; {note}"
    best = _best(matching, entry.anchor)
    anchor_matches = (
        None if best is None or entry.anchor is None else _anchor_ok(best, entry.anchor)
    )
    return {
        "tier": entry.tier,
        "url": entry.url,
        "target": entry.target,
        "found": bool(matching),
        "link": None if best is None else {k: v for k, v in best.items() if k != "_id"},
        "link_count": len(matching),
        "status": status,
        "reason": reason,
        "expected_anchor": entry.anchor,
        "anchor_matches": anchor_matches,
        "page_status": page.get("status") if page else None,
        "page_error": page.get("error") if page else None,
        "moved_to": moved,
        # The user's records of the deal, carried for reports (`Entry.deal`).
        **entry.deal,
    }


def target_domains(entries: Iterable[Entry]) -> dict[str, frozenset[str]]:
    """For each entry page, the registered domains of the targets it should link to.

    A page's links to these domains are all its placements can match (save a
    target that redirects to another domain), so the crawl keeps them with
    the page and the verdicts never read the run's other links back. The
    domains are in `match_domain` form.
    """
    domains: dict[str, set[str]] = {}
    for entry in entries:
        domains.setdefault(entry.url, set()).add(site_domain(entry.target))
    return {url: frozenset(found) for url, found in domains.items()}


def links_to_domains(
    links: Iterable[Mapping[str, Any]], domains: frozenset[str]
) -> list[Mapping[str, Any]]:
    """The links (documents with ``domain``) that point into one of ``domains`` (`target_domains`)."""
    return [link for link in links if match_domain(link.get("domain") or "") in domains]
