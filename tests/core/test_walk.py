"""The compiled walk (``tiercrawl.core._walk``) gives exactly what the Python walk gives.

Compared field by field on every page the tests serve, on pages written to
hit each rule, and on random documents. ``extract_page`` uses the compiled
walk: a build that lost it fails here (``test_extract_uses_the_compiled_walk``).
"""

from __future__ import annotations

import random
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from tiercrawl.core import _walk as compiled
from tiercrawl.core import extract
from tiercrawl.core import walk as python
from tiercrawl.core.extract import parse_page
from tiercrawl.core.regions import Block, word_set

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        *(ROOT / "tests").rglob("*.html"),
        *(ROOT / "tiercrawl" / "demo" / "site").rglob("*.html"),
    ]
)
BASE = "https://site.example.com/dir/page.html"

# Each hits a rule of the walk: skipped and hidden subtrees, link text, image
# alts, whitespace and control characters, commas, attributes in every form.
CASES = {
    "hidden": '<div style="display: none">gone <a href="/h">hidden link</a></div><p>shown</p>',
    "hidden-kinds": (
        '<p hidden>a</p><p aria-hidden="TRUE">b</p><p style="opacity:0">c</p>'
        '<p style="left:-9999px;">d</p><p aria-hidden="false">e <a href="/e">E</a></p>'
    ),
    "hidden-in-link": '<a href="/x">shown <span style="display:none">hidden</span> end</a>',
    "template": '<template><p>in a template <a href="/t">t</a></p></template><p>after</p>',
    "skipped": "<p>a<script>var x = 1;</script>b<style>p{}</style>c<svg><a href='/s'>s</a></svg>d</p>",
    "images": '<a href="/i"><img alt="one"><img><img alt="">two</a><img alt="outside">',
    "area": '<map><area href="/a1" alt="region"><area alt="no href"></map>',
    "whitespace": "<p>  lead\n\ttabs\u00a0nbsp  double  </p><p>\u3000ideo\u2003em</p>",
    "controls": "<p>bell\x07 esc\x1b[0m c1\x85 zero\u200bwidth</p>",
    "commas": "<p>one, two\uff0cthree\u3001four, five, six and enough words to count</p>",
    "attributes": (
        '<div id="" class="">x</div><div role="navigation">n</div><div class="a" class="b">'
        'dup</div><input disabled><a href="/q?a=1&amp;b=&lt;2&gt;" rel="nofollow">q</a>'
    ),
    "namespaced": '<div xml:lang="en" xmlns:og="http://ogp.me/ns#" og:title="t">ns</div>',
    "no-href": '<a name="top">top</a><a href="">empty</a><a href="javascript:void(0)">js</a>',
    "nested-links": '<a href="/outer">outer <a href="/inner">inner</a> tail</a>',
    "text-outside-body": "<html>before<head><title>t</title></head>mid<body>b</body>after</html>",
    "cdata": "<p><![CDATA[not cdata in html]]>text</p>",
    "entities": "<p>&amp; &lt;tag&gt; &nbsp;&copy;&#8203;&#x1F600;</p>",
    "empty": "<p></p><div> </div><span>\n</span>",
    "deep": "<div>" * 3000 + '<a href="/deep">deep</a>' + "</div>" * 3000,
    "base": '<base href="https://other.example.org/b/"><a href="rel">relative</a>',
}

_TAGS = word_set(
    "div p span a img nav header footer aside main article section ul li table td "
    "template script style br h2 em svg area form button"
)
_ATTRS = (
    ("class", "content"),
    ("class", "sidebar widget"),
    ("id", "mainMenu"),
    ("role", "banner"),
    ("style", "display:none"),
    ("style", "color: red"),
    ("hidden", ""),
    ("aria-hidden", "true"),
    ("alt", "pic"),
    ("href", "/p"),
    ("href", "https://else.example.net/x#f"),
    ("rel", "ugc"),
)
_TEXTS = (
    "word",
    " spaced out ",
    "two  spaces",
    "tab\there",
    "line\nbreak",
    "\u00a0nbsp",
    "comma, here",
    "\uff0c\u3001",
    "",
    " ",
    "bell\x07",
    "caf\u00e9 \u4e2d\u6587",
    "\u200b",
    "ok.",
)


def _random_html(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(0, 4 if depth < 6 else 0)):
        tag = rng.choice(sorted(_TAGS))
        attrs = "".join(f' {k}="{v}"' for k, v in rng.sample(_ATTRS, rng.randint(0, 3)))
        parts.append(
            f"{rng.choice(_TEXTS)}<{tag}{attrs}>{_random_html(rng, depth + 1)}</{tag}>"
            f"{rng.choice(_TEXTS)}"
        )
    return "".join(parts)


# Every field, so that a field added later is compared too; references as indexes.
_BLOCK_FIELDS = [name for name in Block.__slots__ if name != "parent"]
_LINK_FIELDS = [f.name for f in fields(python.LinkSpan) if f.name != "block"]


def _state(walked: python.Walk) -> dict[str, Any]:
    index = {id(block): n for n, block in enumerate(walked.blocks)}

    def block_state(block: Block) -> list[Any]:
        parent = index.get(id(block.parent)) if block.parent is not None else None
        return [parent, *(getattr(block, name) for name in _BLOCK_FIELDS)]

    def link_state(link: python.LinkSpan) -> list[Any]:
        return [index[id(link.block)], *(getattr(link, name) for name in _LINK_FIELDS)]

    return {
        "text": walked.text,
        "words": walked.words,
        "blocks": [block_state(block) for block in walked.blocks],
        "links": [link_state(link) for link in walked.links],
        "top": block_state(walked.top),
    }


def _assert_same(html: str | bytes, base_url: str = BASE) -> python.Walk:
    parsed = parse_page(html)
    assert parsed is not None
    expected = python.walk(parsed.root, base_url)
    assert _state(compiled.walk(parsed.root, base_url)) == _state(expected)
    return expected


def test_extract_uses_the_compiled_walk() -> None:
    assert extract.walk is compiled.walk


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_on_served_pages(page: Path) -> None:
    walked = _assert_same(page.read_bytes(), "http://127.0.0.2:8000/" + page.name)
    assert walked.blocks


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_on_each_rule(name: str) -> None:
    _assert_same(f"<html><body>{CASES[name]}</body></html>")


def test_cases_reach_their_rules() -> None:
    """The cases above do what they are there for: a case that stopped hitting its rule
    would compare two walks over nothing."""
    hidden = _assert_same(CASES["hidden"])
    assert hidden.text.split() == ["gone", "hidden", "link", "shown"][1:]
    assert [link.hidden for link in hidden.links] == [True]
    images = _assert_same(CASES["images"])
    assert images.links[0].alts == ["one", "", ""]
    assert "outside" not in images.text
    controls = _assert_same(CASES["controls"])
    assert not set("\x07\x1b") & set(controls.text)
    commas = _assert_same(CASES["commas"])
    assert max(block.commas for block in commas.blocks) == 5
    whitespace = _assert_same(CASES["whitespace"])
    assert whitespace.text.strip().split(" ") == ["lead", "tabs", "nbsp", "double", "ideo", "em"]


def test_same_on_random_documents() -> None:
    rng = random.Random(20261126)
    links = 0
    for _ in range(400):
        walked = _assert_same(f"<html><body>{_random_html(rng)}</body></html>")
        links += len(walked.links)
    assert links > 500  # the documents do hold links, hidden and shown
