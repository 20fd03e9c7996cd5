"""The walk over a parsed page: its folded text, its blocks and its links, in one pass.

``walk(root, base_url)`` is the heart of ``tiercrawl.core.extract``: it runs for
every element and text node of every crawled page. ``tiercrawl/core/_walk.pyx``
is the same walk compiled (Cython, over libxml2's nodes), 2.7 times faster;
``extract`` uses it when it was built, and this one otherwise. The two must
give the same result for every page: ``tests/core/test_walk.py`` checks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from lxml import etree

from tiercrawl.core.regions import (
    MIN_PARAGRAPH,
    PARAGRAPHS,
    TAG_MARKERS,
    Block,
    marker_of,
    word_set,
)
from tiercrawl.core.text import fold
from tiercrawl.core.urls import resolve_link

__all__ = [
    "BREAKS",
    "LINK_TAGS",
    "SKIP_SUBTREE",
    "LinkSpan",
    "Walk",
    "is_hidden",
    "walk",
]

# Text inside these never shows: left out of anchors, context and counts.
_SKIP = frozenset({"script", "style", "template", "head", "title", "meta", "link", "svg", "math"})
# Elements that break the text flow: a space separates their text from the neighbours'.
BREAKS = word_set(
    "address article aside blockquote body br center dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol option p pre "
    "section summary table tbody td tfoot th thead tr ul img button select textarea"
)
# Matched against the lower-cased style without whitespace; a value ends at ";", "!" or the end.
_HIDDEN_STYLE = re.compile(
    r"(?:^|;)(?:display:none|visibility:(?:hidden|collapse)|font-size:0+(?:\.0+)?[a-z%]*"
    r"|opacity:(?:0+(?:\.0+)?|\.0+)%?|(?:left|top|right|text-indent|margin-left|margin-top):-\d{3,}[a-z%]*)"
    r"(?=[;!]|$)"
)


def is_hidden(attrs: dict[str, str]) -> bool:
    if "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true":
        return True
    style = attrs.get("style")
    if not style:
        return False
    return _HIDDEN_STYLE.search("".join(style.lower().split())) is not None


@dataclass(eq=False, slots=True)
class LinkSpan:
    """A link's element and where its text lies in the page's folded text."""

    attrs: dict[str, str]  # the element's attributes
    block: Block
    href: str
    url: str
    domain: str
    hidden: bool
    start: int
    end: int = 0
    alts: list[str] = field(default_factory=list)


# Skipped with their subtree; ``template`` is walked (as hidden) for its blocks.
SKIP_SUBTREE = _SKIP - {"template"}
LINK_TAGS = frozenset({"a", "area"})
_NO_MARKER = (None, 0)


class Walk(NamedTuple):
    """What the walk gathers, in document order."""

    text: str  # the page's folded text: whitespace runs are one space
    words: int  # visible words
    blocks: list[Block]  # one per element, but those skipped with their subtree
    links: list[LinkSpan]  # the links to http(s) URLs
    top: Block  # the root element's parent: spans the whole text


def walk(root: etree._Element, base_url: str) -> Walk:
    """Walk ``root``, the document element; links resolve against ``base_url``.

    One loop with everything inlined: this runs for every element and text
    node of every crawled page. Text nodes are folded (whitespace runs to one
    space) into ``chunks``; ``pos`` is the length of the text so far and
    ``space`` whether it ends in a space (or is empty). Hidden prose stays
    out of the text; a hidden link's own text is kept for its anchor, and
    text hidden inside a visible link is left out of it.
    """
    chunks: list[str] = []
    append = chunks.append
    blocks: list[Block] = []
    links: list[LinkSpan] = []
    skip_subtree = SKIP_SUBTREE
    paragraphs = PARAGRAPHS
    breaks = BREAKS
    link_tags = LINK_TAGS
    pos = 0
    space = True
    words = 0
    top = Block("html", None)
    # The open element: its block, nearest paragraph block, hidden, open link.
    block, para, hidden, link = top, top, False, None
    # The same for each enclosing element; own: whether the element has a block.
    stack: list[tuple[Block, Block, bool, LinkSpan | None, bool]] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if tag.__class__ is not str:
            continue
        if event == "start":
            if tag in skip_subtree:
                walker.skip_subtree()
                stack.append((block, para, hidden, link, False))
                hidden = True
                continue
            stack.append((block, para, hidden, link, True))
            parent = block
            items = el.items()
            if items:
                attrs = dict(items)
                if not hidden:
                    hidden = tag == "template" or (
                        ("hidden" in attrs or "aria-hidden" in attrs or "style" in attrs)
                        and is_hidden(attrs)
                    )
                role = attrs.get("role")
                if role is not None or "id" in attrs or "class" in attrs:
                    id_class = (attrs.get("id") or "") + " " + (attrs.get("class") or "")
                    marker, weight = marker_of(tag, role, id_class.strip())
                else:
                    marker, weight = TAG_MARKERS.get(tag, _NO_MARKER)
            else:
                attrs = None
                hidden = hidden or tag == "template"
                marker, weight = TAG_MARKERS.get(tag, _NO_MARKER)
            block = Block(tag, parent, marker, weight, pos)
            blocks.append(block)
            if tag in paragraphs:
                para = block
            if tag in breaks and not space:
                append(" ")
                pos += 1
                space = True
            if attrs is not None and tag in link_tags and "href" in attrs:
                href = attrs["href"]
                resolved = resolve_link(href, base_url)
                if resolved is not None:
                    link = LinkSpan(attrs, block, href, resolved[0], resolved[1], hidden, pos)
                    links.append(link)
            elif tag == "img" and link is not None:
                link.alts.append(attrs.get("alt") or "" if attrs is not None else "")
            text = el.text
        else:
            enclosing = stack.pop()
            if enclosing[4]:
                if tag in breaks and not space:
                    append(" ")
                    pos += 1
                    space = True
                block.end = pos
                if link is not None and link.block is block:
                    link.end = pos
                parent = enclosing[0]  # block.parent
                parent.text += block.text
                parent.link += block.link
                own = block.own_text
                if own >= MIN_PARAGRAPH and block.own_link < own:
                    block.good += own
                parent.good += block.good
            block, para, hidden, link, _ = enclosing
            if not stack:
                break
            text = el.tail
        # The text node just reached: el.text at a start, el.tail at an end.
        if not text or (hidden and (link is None or not link.hidden)):
            continue
        if text.isprintable() and "  " not in text:
            # No whitespace but single spaces (every other kind is unprintable),
            # the common case in prose: nothing to fold.
            folded = text.strip(" ")
            count = folded.count(" ") + 1 if folded else 0
        else:
            split = text.split()  # str.split beats a regex by far on long text
            folded = " ".join(split)
            count = len(split)
            if not folded.isprintable():
                # Control characters (ESC, BEL, C1) show nothing: out.
                folded = fold(folded)
                count = folded.count(" ") + 1 if folded else 0
        if not folded:
            if not space:
                append(" ")
                pos += 1
                space = True
            continue
        size = len(folded)
        if not space and text[0].isspace():
            append(" ")
            pos += 1
        append(folded)
        pos += size
        space = text[-1].isspace()
        if space:
            append(" ")
            pos += 1
        if hidden:
            continue
        words += count
        if link is not None:
            para.own_link += size
            block.link += size
        else:
            para.own_text += size
            para.commas += folded.count(",") + folded.count("\uff0c") + folded.count("\u3001")
            block.text += size
    top.end = pos
    return Walk("".join(chunks), words, blocks, links, top)
