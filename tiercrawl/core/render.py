"""When a page needs JavaScript rendering, and what rendering changed on it.

Pure: no Scrapy, no browser. ``scan_html`` reads the signals a raw page gives
(scripts, visible text, framework root, ``<noscript>`` pleas, links);
``decide_render`` turns them, the campaign's expected targets and what the
site showed earlier in the run, into a decision and the ``render_reason`` of
``pages``; ``compare_links`` and ``mark_rendered_only`` pair a page's raw and
rendered links. The rules and the reason vocabulary are documented in
``docs/rendering.md``.
"""

from __future__ import annotations

import copy
import re
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from tiercrawl.core.extract import LinkFacts, ParsedPage, parse_page
from tiercrawl.core.text import fold
from tiercrawl.core.urls import match_key, resolve, resolve_link

__all__ = [
    "RENDER_FAILED",
    "RENDER_MODES",
    "LinkDiff",
    "PageSignals",
    "RenderFacts",
    "RenderPolicy",
    "SiteMemory",
    "compare_links",
    "decide_render",
    "mark_rendered_only",
    "may_need_render",
    "scan_html",
]

RENDER_MODES = ("auto", "always", "never")
# In ``pages.render_reason`` after the reason to render: the raw page was kept instead.
RENDER_FAILED = "; render failed: "

# Script types a browser executes; anything else (JSON, ld+json, templates) is data.
_JS_TYPES = frozenset(
    {
        "",
        "module",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "text/jscript",
        # The rest of the HTML standard's JavaScript MIME types.
        "application/x-ecmascript",
        "text/x-ecmascript",
        "text/x-javascript",
        "text/livescript",
        *(f"text/javascript1.{minor}" for minor in range(6)),
    }
)
# Inline handlers that run with no one clicking: <body onload>, <svg onload>, <img onerror>.
_HANDLERS = ("onload", "onerror", "onpageshow")
_HANDLER_SET = frozenset(_HANDLERS)
# Mount points of client-side frameworks (React, Vue, Next, Nuxt, Gatsby, Svelte, Angular, ...).
_ROOT_IDS = frozenset(
    ("root", "app", "__next", "__nuxt", "___gatsby", "svelte", "q-app", "ember-app")
)
_ROOT_ATTRS = ("ng-app", "ng-version", "data-reactroot", "data-v-app", "data-server-rendered")
_ROOT_ATTR_SET = frozenset(_ROOT_ATTRS)
_ASKS_FOR_JS = re.compile(
    r"\b(?:enable|turn on|activate|allow|switch on)\b.{0,40}\bjavascript\b"
    r"|\bjavascript\b.{0,40}\b(?:required|disabled|needed|turned off|is off|must be)\b"
    r"|\b(?:requires?|needs?)\s+javascript\b",
    re.IGNORECASE | re.DOTALL,
)
# Elements whose text no one sees: the first two the extraction skips too, the others
# it walks (the links of a <noscript> or <template> are links of the page).
_SKIPPED_BY_EXTRACTION = ("script", "style")
_WALKED_INVISIBLE = ("noscript", "template")


@dataclass(frozen=True)
class RenderPolicy:
    """How ``decide_render`` decides: the mode (``TIERCRAWL_RENDER``) and the app-shell bar.

    ``shell_text_chars`` (``TIERCRAWL_RENDER_SHELL_TEXT``): a scripted page with
    less visible text than this is taken for an app shell.
    """

    mode: str = "auto"
    shell_text_chars: int = 200

    def __post_init__(self) -> None:
        if self.mode not in RENDER_MODES:
            raise ValueError(
                f"render mode {self.mode!r}: expected one of {', '.join(RENDER_MODES)}"
            )
        if self.shell_text_chars < 0:
            raise ValueError("the app-shell text bar cannot be negative")


@dataclass(frozen=True)
class PageSignals:
    """What the HTML of one page says about its need for JavaScript, and its links."""

    scripts: int
    text_chars: int
    app_root: str | None
    noscript_plea: str | None
    links: tuple[str, ...]  # the absolute URLs of its <a href>, in document order


@dataclass(frozen=True)
class RenderFacts:
    """Everything ``decide_render`` weighs for one raw response."""

    url: str
    status: int | None
    signals: PageSignals
    targets: tuple[str, ...] = ()  # the campaign's expected link targets for this page
    site_needed_render: bool = False


@dataclass(frozen=True)
class LinkDiff:
    """Indices of the rendered links absent raw, and of the raw links gone once rendered."""

    rendered_only: tuple[int, ...]
    removed: tuple[int, ...]


_EMPTY = PageSignals(scripts=0, text_chars=0, app_root=None, noscript_plea=None, links=())


def _text(el: etree._Element) -> str:
    return fold("".join(el.itertext()))


# Searched in the page as it is: lower-casing a page costs more than the whole search
# (a real page, its scripts in its head: 2.5 against 320 µs, lower-cased).
_SCRIPT_TAG = re.compile(r"<script[\s>]", re.IGNORECASE)
# Searched in the lower-cased page, "on" as a literal prefix: case-insensitive, or as an
# alternation of the whole names, it scans a page 5 to 10 times slower than the two.
_HANDLER_NAME = re.compile("on(?:" + "|".join(name[2:] for name in _HANDLERS) + ")")
_HANDLER_ATTR = re.compile(r"<[a-z][^<>]*\s(?:" + "|".join(_HANDLERS) + r")\s*=", re.IGNORECASE)


def may_need_render(status: int | None, html: str) -> bool:
    """Whether ``auto`` could render this raw page at all: 2xx, and a ``<script>`` (or an
    inline handler that runs by itself, ``onload=``) in it.

    A substring search, so that the pages no script can change (most of a
    crawl, often) are never parsed a second time for `scan_html`.
    """
    if not 200 <= (status or 0) < 300:
        return False
    if _SCRIPT_TAG.search(html) is not None:
        return True
    # The tag-aware pattern only where a handler's name occurs at all: it is slow to fail.
    return (
        _HANDLER_NAME.search(html.lower()) is not None and _HANDLER_ATTR.search(html) is not None
    )


def scan_html(html: str, url: str) -> PageSignals:
    """The render signals of a page: `scan_page` of its own parse."""
    return scan_page(parse_page(html), url)


def scan_page(parsed: ParsedPage | None, url: str) -> PageSignals:
    """The render signals of a parsed page, from one pass over its elements.

    Auto mode scans every raw page with a script (nearly every real page) while
    only about one in ten gets rendered, so this must cost well under the
    extraction (docs/rendering.md). It reads the tree `extract_page` reads
    next: the page's ``script`` and ``style`` elements are taken out of it on
    the way (the extraction skips them; its facts are the same on the 543
    pages of the placement corpus), the rest is left as it is.
    """
    if parsed is None:
        return _EMPTY
    root = parsed.root
    base_href = None
    hrefs = []
    scripts = 0
    plea = None
    marker = None
    for el in root.iter(etree.Element):
        tag = el.tag
        if tag == "a":
            href = el.get("href")
            if href:
                hrefs.append(href)
        elif tag == "script":
            scripts += (el.get("type") or "").split(";")[0].strip().lower() in _JS_TYPES
        elif tag == "noscript":
            if plea is None and _ASKS_FOR_JS.search(text := _text(el)):
                plea = text
        elif tag == "base" and base_href is None:
            base_href = el.get("href") or None
        names = el.keys()
        if names:
            scripts += not _HANDLER_SET.isdisjoint(names)
            if marker is None and (
                el.get("id") in _ROOT_IDS or not _ROOT_ATTR_SET.isdisjoint(names)
            ):
                marker = el
    # Resolved once the whole page is read: a <base href> counts wherever it stands.
    base = url
    if base_href is not None and (resolved := resolve(base_href, url)):
        base = resolved
    links = tuple(found[0] for href in hrefs if (found := resolve_link(href, base)))
    app_root = None
    if marker is not None:
        found_attrs = [f"[{a}]" for a in _ROOT_ATTRS if marker.get(a) is not None]
        app_root = found_attrs[0] if found_attrs else f"#{marker.get('id')}"
    etree.strip_elements(root, *_SKIPPED_BY_EXTRACTION, with_tail=False)
    body = next(root.iter("body"), root)
    if any(True for el in body.iter(*_WALKED_INVISIBLE) for _ in el.itertext()):
        # Their text shows nothing either, and the extraction walks them: taken out of a
        # copy (a quarter of real pages: 0.4 ms, against 0.9 for a parse of its own).
        body = copy.deepcopy(body)
        etree.strip_elements(body, *_WALKED_INVISIBLE, with_tail=False)
    text = etree.tostring(body, method="text", encoding=str, with_tail=False)
    return PageSignals(
        scripts=scripts,
        text_chars=len(fold(text)),
        app_root=app_root,
        noscript_plea=plea,
        links=links,
    )


def decide_render(policy: RenderPolicy, facts: RenderFacts) -> tuple[bool, str | None]:
    """Whether to render the page, and the reason stored as ``pages.render_reason``.

    ``always`` renders every HTML page and ``never`` none. ``auto`` renders a
    page that answered 2xx and runs scripts when, in this order: it looks like
    an app shell (little visible text); an expected target link is absent from
    the raw HTML; a ``<noscript>`` asks for JavaScript (a lazy comment section,
    a widget); the same site needed rendering earlier in the run. A page with
    no script cannot change when rendered, so it never is.
    """
    if policy.mode == "never":
        return False, None
    if policy.mode == "always":
        return True, "always"
    status = facts.status or 0
    signals = facts.signals
    if not 200 <= status < 300 or signals.scripts == 0:
        return False, None
    if signals.text_chars < policy.shell_text_chars:
        root = f"{signals.app_root}, " if signals.app_root else ""
        return True, f"app_shell: {root}{signals.text_chars} characters of text"
    present = {match_key(url) for url in signals.links} if facts.targets else set()
    missing = [t for t in facts.targets if match_key(t) not in present]
    if missing:
        return True, (
            f"target_absent: {len(missing)} of {len(facts.targets)} expected links "
            f"not in the raw HTML, {signals.scripts} scripts"
        )
    if signals.noscript_plea:
        return True, f"noscript: {signals.noscript_plea[:80]}"
    if facts.site_needed_render:
        return True, f"site_rendered: {_site(facts.url)} needed rendering earlier in the run"
    return False, None


def compare_links(raw: Sequence[tuple[str, str]], rendered: Sequence[tuple[str, str]]) -> LinkDiff:
    """Pairs rendered links with raw ones, as multisets.

    A rendered link pairs first with a raw link of the same target (the
    contract's matching key) and anchor text, then with one of the same
    target only, so a script that only rewrites an anchor does not make a
    link "new". Unpaired rendered links are rendered-only; unpaired raw links
    were removed by scripts.
    """
    exact: dict[tuple[str, str], deque[int]] = {}
    for j, (url, anchor) in enumerate(raw):
        exact.setdefault((match_key(url), anchor), deque()).append(j)
    paired: set[int] = set()
    unpaired: list[int] = []
    for i, (url, anchor) in enumerate(rendered):
        queue = exact.get((match_key(url), anchor))
        if queue:
            paired.add(queue.popleft())
        else:
            unpaired.append(i)
    by_target: dict[str, deque[int]] = {}
    for j, (url, _) in enumerate(raw):
        if j not in paired:
            by_target.setdefault(match_key(url), deque()).append(j)
    rendered_only = []
    for i in unpaired:
        queue = by_target.get(match_key(rendered[i][0]))
        if queue:
            paired.add(queue.popleft())
        else:
            rendered_only.append(i)
    removed = tuple(j for j in range(len(raw)) if j not in paired)
    return LinkDiff(rendered_only=tuple(rendered_only), removed=removed)


def mark_rendered_only(rendered: Sequence[LinkFacts], raw: Sequence[LinkFacts]) -> list[LinkFacts]:
    """Sets ``rendered_only`` on the rendered links absent raw; returns the raw links removed."""
    diff = compare_links(_pairs(raw), _pairs(rendered))
    for i in diff.rendered_only:
        rendered[i].rendered_only = True
    return [raw[j] for j in diff.removed]


def _pairs(links: Iterable[LinkFacts]) -> list[tuple[str, str]]:
    return [(link.url, link.anchor_text) for link in links]


def _site(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


class SiteMemory:
    """The sites whose pages needed rendering earlier in the run (by host, ``www.`` ignored)."""

    def __init__(self) -> None:
        self._sites: set[str] = set()

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and _site(url) in self._sites

    def learn(self, url: str, raw: PageSignals, rendered: PageSignals) -> bool:
        """Remembers the site when rendering revealed links the raw HTML lacked; says whether."""
        # As `compare_links` pairs them: a target linked more often rendered than raw.
        revealed = bool(
            Counter(map(match_key, rendered.links)) - Counter(map(match_key, raw.links))
        )
        if revealed:
            self._sites.add(_site(url))
        return revealed
