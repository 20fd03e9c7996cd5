"""Link and page facts from one HTML page, in one parse and one tree walk.

``extract_page(html, url)`` gives the page's metadata (title, lang, meta
robots, canonical, word count, main text) and every http(s) link with the
facts the contract's ``links`` documents carry. Pure: no Scrapy, no network.
The tree walk lives in ``tiercrawl.core.walk`` (and, compiled, in
``tiercrawl/core/_walk.pyx``), region classification in ``tiercrawl.core.regions``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from lxml import etree
from w3lib.encoding import resolve_encoding

from tiercrawl.core.indexability import robots_tokens
from tiercrawl.core.regions import Block, Regions, context_block, find_content
from tiercrawl.core.text import fold
from tiercrawl.core.urls import registered_domain, resolve
from tiercrawl.core.walk import LinkSpan

try:
    from tiercrawl.core._walk import walk

    COMPILED_WALK = True
# Not compiled (installed without a C compiler, or from a Scrapyd egg), or compiled against
# an lxml whose element type differs from the one installed (ValueError, from Cython's check).
except (ImportError, ValueError):
    from tiercrawl.core.walk import walk

    COMPILED_WALK = False

__all__ = [
    "COMPILED_WALK",
    "LinkFacts",
    "PageFacts",
    "ParsedPage",
    "decode_html",
    "extract_page",
    "parse_page",
]

MAIN_TEXT_LIMIT = 20000


@dataclass
class LinkFacts:
    """One link of a page; field names are the contract's ``links`` fields."""

    href: str
    url: str
    domain: str
    anchor_text: str
    anchor_kind: str  # text | image | empty
    rel: list[str]
    nofollow: bool
    sponsored: bool
    ugc: bool
    region: str  # content | nav | header | footer | aside | comments
    position: int
    context: str
    hidden: bool
    external: bool
    rendered_only: bool = False  # set later by the rendering layer


@dataclass
class PageFacts:
    """The page-level facts of one HTML page, and its links."""

    title: str | None
    lang: str | None
    word_count: int
    meta_robots: list[str]
    canonical: str | None
    base_url: str
    main_text: str
    outbound_links: int
    links: list[LinkFacts] = field(default_factory=list)
    # libxml2 stops at 2,048 levels of nesting, even with huge_tree: what lies deeper,
    # or after, is not read, and a link there is not on this list.
    truncated: bool = False


_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE_UNICODE = ("utf-16", "utf-32")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# No table of the ids (collect_ids): nothing here looks an element up by its id, and
# the parse of a real page takes 6 % less time without it.
_PARSER = etree.HTMLParser(
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    huge_tree=True,
    collect_ids=False,
)


def decode_html(data: bytes) -> str:
    """Bytes as text: BOM first, then a ``<meta charset>`` near the top, then UTF-8, then cp1252.

    Done here rather than by libxml2, which falls back to Latin-1 for pages
    that declare nothing; UTF-8 is what such pages are today. Charset labels
    are read as browsers and Scrapy read them (w3lib): ``iso-8859-1`` and
    ``us-ascii`` are windows-1252, and a page whose ``<meta>`` says UTF-16 or
    UTF-32, which it cannot be if the ``<meta>`` is readable as ASCII, is
    read as if it declared nothing.
    """
    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(bom_encoding, errors="replace")
    found = _META_CHARSET.search(data[:4096])
    declared = resolve_encoding(found.group(1).decode("ascii")) if found else None
    if declared is not None and not codecs.lookup(declared).name.startswith(_WIDE_UNICODE):
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _context(text: str, block: Block, start: int, end: int, limit: int) -> str:
    """About ``limit`` characters of ``block``'s text centred on ``text[start:end]``."""
    lo, hi = block.start, block.end
    if hi - lo > limit:
        room = max(limit - (end - start), 0)
        left = min(room // 2, start - lo)
        right = min(room - left, hi - end)
        left = min(room - right, start - lo)
        new_lo, new_hi = start - left, end + right
        if new_lo > lo and not text[new_lo - 1].isspace():
            cut = text.find(" ", new_lo, start)
            new_lo = cut + 1 if cut >= 0 else new_lo
        if new_hi < hi and not text[new_hi].isspace():
            cut = text.rfind(" ", end, new_hi)
            new_hi = cut if cut >= 0 else new_hi
        lo, hi = new_lo, new_hi
    return text[lo:hi].strip()[: max(limit, end - start)]


def _head_facts(
    root: etree._Element, url: str
) -> tuple[str | None, str | None, list[str], str | None, str]:
    title: str | None = None
    lang = fold(root.get("lang")) or None
    robots: list[str] = []
    canonical_hrefs: list[str] = []
    base_href: str | None = None
    content_language: str | None = None
    for el in root.iter("title", "meta", "link", "base"):
        tag = el.tag
        if tag == "title":
            # An svg's <title> is the drawing's tooltip, not the page's.
            if title is None and next(el.iterancestors("svg"), None) is None:
                title = fold("".join(el.itertext())) or None
        elif tag == "meta":
            name = (el.get("name") or "").strip().lower()
            if name in ("robots", "googlebot"):
                for token in robots_tokens(el.get("content") or ""):
                    if token not in robots:
                        robots.append(token)
            elif (el.get("http-equiv") or "").strip().lower() == "content-language":
                content_language = content_language or fold(
                    (el.get("content") or "").split(",")[0]
                )
        elif tag == "link":
            rel = (el.get("rel") or "").lower().split()
            href = el.get("href")
            # Search engines read a canonical in <head> only.
            if "canonical" in rel and href and next(el.iterancestors("head"), None) is not None:
                canonical_hrefs.append(href)
        elif base_href is None and el.get("href"):
            base_href = el.get("href")
    base_url = (resolve(base_href, url) if base_href else None) or url
    canonicals = {resolve(href, base_url) for href in canonical_hrefs}
    # Several different canonicals are no hint at all: Google ignores them all.
    canonical = canonicals.pop() if len(canonicals) == 1 else None
    return title, lang or content_language or None, robots, canonical, base_url


def _main_text(text: str, content: list[Block]) -> str:
    spans = sorted((b.start, b.end) for b in content)
    joined = " ".join(text[lo:hi].strip() for lo, hi in spans)
    return joined[:MAIN_TEXT_LIMIT].strip()


def _fold_if_blanked(part: str, source: str, text: str) -> str:
    """``part`` of ``source`` with the runs of spaces a blanked hidden anchor left folded."""
    return part if source is text else " ".join(part.split())


def _without_hidden_links(text: str, links: list[LinkSpan]) -> str:
    """``text`` with the anchors of hidden links blanked out, every position kept.

    A hidden link's text is kept in ``text`` for its own anchor, but it is no
    part of what readers see around the other links, nor of the main text.
    """
    hidden = [link for link in links if link.hidden and link.end > link.start]
    if not hidden:
        return text
    pieces, pos = [], 0
    for link in hidden:
        start = max(link.start, pos)
        pieces += [text[pos:start], " " * (link.end - start)]
        pos = max(link.end, pos)
    pieces.append(text[pos:])
    return "".join(pieces)


@dataclass
class ParsedPage:
    """libxml2's tree of a page, as `extract_page` reads it."""

    root: etree._Element
    truncated: bool  # the parse stopped at libxml2's nesting limit


def parse_page(html: str | bytes) -> ParsedPage | None:
    """The tree of ``html``, or None for a page with no document (blank, unparsable).

    For a caller that reads the tree before `extract_page` does (auto
    rendering's look at the page): one parse serves both.
    """
    text = decode_html(html) if isinstance(html, bytes) else html
    if not text.strip():
        return None
    try:
        root = etree.fromstring(text.encode("utf-8", errors="replace"), _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError):
        return None
    if root is None:
        return None
    # The parser's last error says whether it stopped early: read before the next parse.
    last = _PARSER.error_log.last_error
    return ParsedPage(root, last is not None and last.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT)


def extract_page(
    html: str | bytes, url: str, *, context_chars: int = 300, parsed: ParsedPage | None = None
) -> PageFacts:
    """The facts of the page ``html`` fetched from ``url`` (its final URL).

    Links are the ``a[href]`` and ``area[href]`` elements that resolve to an
    http(s) URL, in document order; ``javascript:``, ``mailto:`` and the like are
    left out. Broken markup is repaired by libxml2; an empty document gives no links.
    ``parsed``: ``html``'s `parse_page`, where it was parsed already; its
    ``script`` and ``style`` elements may have been taken out, which no fact
    depends on (the walk skips them).
    """
    if parsed is None:
        parsed = parse_page(html)
    if parsed is None:
        return PageFacts(None, None, 0, [], None, url, "", 0, [])
    root = parsed.root
    title, lang, robots, canonical, base_url = _head_facts(root, url)
    text, words, blocks, spans, top = walk(root, base_url)
    visible = _without_hidden_links(text, spans)
    content = find_content(blocks)
    regions = Regions(content)
    page_domain = registered_domain(url)
    links = [
        _link_facts(link, text, visible, position, page_domain, regions, context_chars)
        for position, link in enumerate(spans)
    ]
    return PageFacts(
        title=title,
        lang=lang,
        word_count=words,
        meta_robots=robots,
        canonical=canonical,
        base_url=base_url,
        main_text=_fold_if_blanked(_main_text(visible, content or [top]), visible, text),
        outbound_links=sum(link.external for link in links),
        links=links,
        truncated=parsed.truncated,
    )


def _link_facts(
    link: LinkSpan,
    text: str,
    visible: str,
    position: int,
    page_domain: str,
    regions: Regions,
    context_chars: int,
) -> LinkFacts:
    # Each read once: an attribute read costs more than a local's.
    attrs, start, end, element, href = link.attrs, link.start, link.end, link.block, link.href
    # Zero-width characters are no whitespace to str.strip(), and show nothing either.
    anchor = text[start:end].strip().strip(_INVISIBLE).strip()
    kind = "text"
    has_text = bool(anchor)
    if element.tag == "area":
        anchor = fold(attrs.get("alt"))
        kind = "image" if anchor else "empty"
    elif not anchor:
        anchor = fold(" ".join(link.alts))
        kind = "image" if anchor else "empty"
    rel_value = attrs.get("rel")
    # Google reads a comma-separated list too: rel="ugc,nofollow".
    rel = rel_value.lower().replace(",", " ").split() if rel_value else []
    domain = link.domain
    block = context_block(element, end - start)
    # A hidden link's own context holds its anchor; the others' hold no hidden anchors.
    around = text if link.hidden else visible
    context = _fold_if_blanked(_context(around, block, start, end, context_chars), around, text)
    region = regions.classify(element, has_text=has_text, in_page=href.lstrip().startswith("#"))
    # In field order, not by keyword: fourteen keywords cost 1.2 µs a link.
    return LinkFacts(
        href,
        link.url,
        domain,
        anchor,  # anchor_text
        kind,  # anchor_kind
        rel,
        "nofollow" in rel,
        "sponsored" in rel,
        "ugc" in rel,
        region,
        position,
        context or anchor,
        link.hidden,
        domain != page_domain,  # external
    )
