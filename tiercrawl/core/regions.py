"""Page regions: where on a page a link sits (content, nav, header, footer, aside, comments).

Two signals are combined, as boilerplate-removal tools do:

* markers: semantic elements (``nav``, ``footer``, ...), ARIA roles and the
  id/class vocabulary sites use for their chrome (``menu``, ``sidebar``,
  ``comments``, ``share``, ...);
* a main-content detection that scores blocks by their non-link text, so that
  pages without semantic markup still get a content area.

A link inside the detected content area is ``content`` unless a marker between
it and the area says otherwise; a link outside takes the region of its nearest
marker, or ``nav`` before the content and ``aside`` after it. See
``docs/extraction.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from operator import attrgetter

__all__ = [
    "MIN_PARAGRAPH",
    "PARAGRAPHS",
    "REGIONS",
    "TAG_MARKERS",
    "Block",
    "Regions",
    "context_block",
    "find_content",
    "marker_of",
    "word_set",
]

REGIONS = ("content", "nav", "header", "footer", "aside", "comments")


def word_set(words: str) -> frozenset[str]:
    """The space-separated ``words`` as a set: long vocabularies stay readable."""
    return frozenset(words.split())


_SEMANTIC = {
    "nav": "nav",
    "header": "header",
    "footer": "footer",
    "aside": "aside",
    "main": "content",
    "article": "content",
}
_ROLES = {
    "navigation": "nav",
    "menu": "nav",
    "menubar": "nav",
    "banner": "header",
    "contentinfo": "footer",
    "complementary": "aside",
    "main": "content",
    "article": "content",
}

# id/class tokens (split on non-alphanumerics and camelCase) and the region they mark.
_TOKENS = {
    "comments": "comments comment commentlist respond disqus replies discussion",
    "nav": "nav navbar navigation menu menubar breadcrumb breadcrumbs pagination pager "
    "paging skiplink skiplinks toolbar",
    "header": "header masthead banner topbar",
    "footer": "footer colophon copyright",
    "aside": "sidebar widget widgets aside related share sharing social socials sharebar "
    "sponsor sponsored ad ads advert advertisement promo newsletter subscribe subscription "
    "cookie cookies consent tags tagcloud taglist bio authorbio author-bio recommended "
    "recommendations popular trending teaser teasers outbrain taboola rail morestories "
    "signup login button buttons btn embed embedded",
}
_TOKEN_REGION = {tok: region for region, words in _TOKENS.items() for tok in words.split()}
# Compound tokens (``mainmenu``, ``footerlinks``, ``sidebarleft``): a prefix or suffix decides.
_AFFIXES = (
    ("comments", ("comment", "disqus")),
    ("nav", ("menu", "navbar", "navigation", "breadcrumb", "subnav", "topnav", "mainnav")),
    ("footer", ("footer",)),
    ("aside", ("sidebar", "widget", "share", "social", "related", "newsletter", "cookie")),
)
_CONTENT_TOKENS = word_set(
    "content main article articlebody story entry post body text prose blog hentry "
    "postcontent entrycontent storybody"
)
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_PRECEDENCE = {"comments": 0, "footer": 1, "header": 2, "nav": 3, "aside": 4}


def _tokens(value: str) -> list[str]:
    # Real pages' ids and classes are many and mostly lower-case: only a value with a
    # capital can hold camelCase words (and the substitution costs as much as the rest).
    lowered = value.lower()
    if lowered != value:
        lowered = _CAMEL.sub(r"\1 \2", value).lower()
    return _WORD.findall(lowered)


@lru_cache(maxsize=8192)
def _token_region(token: str) -> str | None:
    region = _TOKEN_REGION.get(token)
    if region is not None:
        return region
    if len(token) < 6:
        return None
    for region, affixes in _AFFIXES:
        if token.startswith(affixes) or token.endswith(affixes):
            return region
    return None


@lru_cache(maxsize=8192)
def marker_of(tag: str, role: str | None, id_class: str) -> tuple[str | None, int]:
    """The region an element's own markup announces, and a content weight for scoring.

    The weight is positive for content-like id/class names (``entry-content``) and
    negative for chrome-like ones, as in Readability's class weight. A boilerplate
    token beats a content token: ``navbar-content`` is navigation.
    """
    region = _SEMANTIC.get(tag)
    if role:
        region = _ROLES.get(role.strip().lower(), region)
    weight = 0
    if id_class:
        best: str | None = None
        has_content = False
        for token in _tokens(id_class):
            found = _token_region(token)
            if found is not None:
                if best is None or _PRECEDENCE[found] < _PRECEDENCE[best]:
                    best = found
            elif token in _CONTENT_TOKENS:
                has_content = True
        if best is not None:
            if region is None or region == "content":
                region = best
        elif has_content:
            weight = 25
            if region is None:
                region = "content"
    if region not in (None, "content"):
        weight = -25
    return region, weight


# ``marker_of(tag, None, "")`` of the tags that mark a region by themselves;
# any other tag without id, class or role gives ``(None, 0)``.
TAG_MARKERS = {tag: marker_of(tag, None, "") for tag in _SEMANTIC}


class Block:
    """One element's facts gathered by the tree walk (character counts are folded text).

    Blocks compare and hash by identity. Compiled, this is a C type
    (``regions.pxd``), with its counts as C integers.
    """

    __slots__ = (
        "commas",
        "end",
        "good",
        "link",
        "marker",
        "own_link",
        "own_text",
        "parent",
        "score",
        "start",
        "tag",
        "text",
        "weight",
    )

    def __init__(
        self,
        tag: str,
        parent: Block | None,
        marker: str | None = None,
        weight: int = 0,
        start: int = 0,
        end: int = 0,
    ) -> None:
        self.tag = tag
        self.parent = parent
        self.marker = marker
        self.weight = weight
        self.start = start  # span in the page's folded text
        self.end = end
        self.text = 0  # visible non-link characters in the subtree
        self.link = 0  # visible link characters in the subtree
        self.own_text = 0  # non-link characters whose nearest block ancestor is this one
        self.own_link = 0
        self.commas = 0
        # Characters of the text-rich paragraphs in the subtree (own text of at least
        # MIN_PARAGRAPH characters, more than its link text): how the content area grows.
        self.good = 0
        self.score = 0.0

    @property
    def link_density(self) -> float:
        total = self.text + self.link
        return self.link / total if total else 0.0


_TAG_WEIGHT = {
    "article": 10,
    "main": 10,
    "div": 5,
    "section": 3,
    "pre": 3,
    "td": 3,
    "blockquote": 3,
    "form": -3,
    "ol": -3,
    "ul": -3,
    "li": -3,
    "dl": -3,
    "dd": -3,
    "th": -5,
    "h1": -5,
    "h2": -5,
    "h3": -5,
    "h4": -5,
    "h5": -5,
    "h6": -5,
}
MIN_PARAGRAPH = 25
# Elements whose text forms a paragraph for content scoring and a context for links.
PARAGRAPHS = word_set(
    "address article aside blockquote body center dd details div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header li main nav ol p pre section summary table "
    "td th ul"
)
_ANCESTOR_SHARE = (1.0, 0.5, 1 / 6)


def find_content(blocks: Iterable[Block]) -> list[Block]:
    """The blocks holding the page's main content, best first.

    Readability's method: every paragraph-like block with enough non-link text
    gives points (more for longer text and commas) to its parent, grandparent and
    great-grandparent; a candidate's points are discounted by its link density and
    weighted by its tag and id/class. Siblings of the winner that score well join
    it (articles split into lead and body). With no paragraph at all, the list is
    empty: the page has no detectable main text.
    """
    blocks_list = list(blocks)
    # Blocks hash by identity (eq=False): keys without a call to id() per lookup.
    candidates: dict[Block, None] = {}  # insertion-ordered: ties go to the first
    for block in blocks_list:
        if block.own_text < MIN_PARAGRAPH:
            continue
        points = 1 + block.commas + min(block.own_text // 100, 3)
        ancestor = block.parent
        for share in _ANCESTOR_SHARE:
            if ancestor is None:
                break
            if ancestor not in candidates:
                candidates[ancestor] = None
                weight = ancestor.weight
                # A "content" box of a footer or a comment is no sign of the main content.
                if weight > 0 and _in_boilerplate(ancestor.parent):
                    weight = 0
                ancestor.score = float(_TAG_WEIGHT.get(ancestor.tag, 0) + weight)
            ancestor.score += points * share
            ancestor = ancestor.parent
    if not candidates:
        return []
    for cand in candidates:
        cand.score *= 1 - cand.link_density
    top = max(candidates, key=attrgetter("score"))
    if top.score <= 0:
        return []
    while (
        top.parent is not None
        and top.parent.parent is not None
        and _boilerplate_marker(top.parent) is None
        and top.parent.good > top.good * CLIMB
        and top.parent.link_density < 0.4
    ):
        top = top.parent
    chosen = [top]
    parent = top.parent
    if parent is not None:
        threshold = max(10.0, top.score * 0.2)
        # Blocks keep no child lists (they would make every page's blocks a
        # reference cycle for the garbage collector): one scan finds the siblings.
        for sibling in blocks_list:
            if sibling.parent is not parent or sibling is top:
                continue
            if sibling.marker not in (None, "content"):
                continue
            scored = sibling in candidates and sibling.score >= threshold
            if scored or (sibling.own_text > 80 and sibling.link_density < 0.25):
                chosen.append(sibling)
    return chosen


CLIMB = 1.3


def _inside_article(block: Block | None) -> bool:
    while block is not None:
        if block.tag in ("article", "main") or block.marker == "content":
            return True
        block = block.parent
    return False


def _in_boilerplate(block: Block | None) -> bool:
    while block is not None:
        if _boilerplate_marker(block) in ("footer", "comments"):
            return True
        block = block.parent
    return False


def _boilerplate_marker(block: Block) -> str | None:
    marker = block.marker
    if marker in (None, "content"):
        return None
    # An article's own header (title, byline) is part of it; its footer (tags,
    # share buttons) is chrome, but not the site footer.
    if marker == "header" and _inside_article(block.parent):
        return None
    if marker == "footer" and _inside_article(block.parent):
        return "aside"
    return marker


_MIN_RUNNING_TEXT = 20
_MIN_STRAY_TEXT = 100
_TABLE_CELLS = frozenset({"td", "th"})


def _paragraph_of(block: Block) -> Block:
    node: Block | None = block
    while node is not None:
        if node.own_link or node.own_text:
            return node
        node = node.parent
    return block


def context_block(block: Block, length: int) -> Block:
    """The nearest paragraph-like ancestor of ``block`` that holds more text than
    ``length``, a link's anchor: where the link's context is taken from.

    Not beyond a marked region: a lone link in a sidebar box has no context
    but its anchor, not the article's prose next to the box.
    """
    node: Block | None = block
    while node is not None:
        if node.tag in PARAGRAPHS and node.end - node.start > length + 1:
            return node
        if node.parent is None or (node.marker is not None and node is not block):
            return node
        node = node.parent
    return block


class Regions:
    """The regions of one page's links, given its detected content area.

    What a link's ancestors say (the first boilerplate marker below the content
    area, whether the area is reached, whether an ``article`` is on the way) is
    worked out once per element: a page's links share most of their ancestors.
    """

    def __init__(self, content: list[Block]) -> None:
        self._content = set(content)
        self._content_start = min((block.start for block in content), default=0)
        self._chains: dict[Block, tuple[str | None, bool, bool]] = {}

    def _chain(self, block: Block) -> tuple[str | None, bool, bool]:
        """(first boilerplate marker, content area reached, article seen) from ``block`` up."""
        chains = self._chains
        # Up to the first element already worked out (or the root), then back down.
        pending: list[Block] = []
        node: Block | None = block
        above: tuple[str | None, bool, bool] = (None, False, False)
        while node is not None:
            known = chains.get(node)
            if known is not None:
                above = known
                break
            pending.append(node)
            node = node.parent
        for node in reversed(pending):
            if node in self._content:
                above = (None, True, False)
            else:
                marker = _boilerplate_marker(node)
                above = (
                    marker if marker is not None else above[0],
                    above[1],
                    above[2] or node.tag == "article",
                )
            chains[node] = above
        return above

    def classify(self, block: Block, *, has_text: bool, in_page: bool) -> str:
        """The region of a link whose innermost element is ``block``.

        ``has_text`` says whether the link shows text (not only an image), ``in_page``
        whether it points to a place on the page itself (``href="#..."``). Markers on
        ancestors of the content area are ignored: a wrapper called
        ``content-with-sidebar`` holds the content, it is not a sidebar. With no
        detected content area, every link outside a marked region is content.
        """
        para = _paragraph_of(block)
        marker, in_content, in_article = self._chain(block)
        if in_content:
            if marker:
                return marker
            # A paragraph that is only links ("Read also: ...", a list of related
            # stories) inside the article is a teaser block, not running text. A
            # table's cells are the article's data, and links into the page itself
            # are its table of contents or footnotes: both belong to the text.
            if (
                has_text
                and para.own_text < _MIN_RUNNING_TEXT
                and not in_page
                and para.tag not in _TABLE_CELLS
            ):
                return "aside"
            return "content"
        if marker is not None:
            return marker
        if not self._content:
            return "content"
        # Running text outside the detected area: an article split over several columns.
        if para.own_text >= _MIN_STRAY_TEXT and para.own_link * 2 < para.own_text:
            return "content"
        # An article's own header (byline, category) or a teaser card is no navigation.
        if in_article or block.start >= self._content_start:
            return "aside"
        return "nav"
