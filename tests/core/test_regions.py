"""Region classification: markers, the content detection, and how they combine."""

from __future__ import annotations

import pytest

from tiercrawl.core.extract import extract_page
from tiercrawl.core.regions import marker_of

# Each test runs with both walks: the compiled one and the Python one eggs use.
pytestmark = pytest.mark.usefixtures("each_walk")

PROSE = (
    "This is a long paragraph of running text, written to look like an article, with commas, "
    "clauses and enough words that it scores as the main content of the page. "
)


def _regions(html: str) -> dict[str, str]:
    page = extract_page(html, "https://site.example.com/post")
    return {link.anchor_text: link.region for link in page.links}


@pytest.mark.parametrize(
    ("tag", "role", "id_class", "region"),
    [
        ("nav", None, "", "nav"),
        ("div", "navigation", "", "nav"),
        ("div", "contentinfo", "", "footer"),
        ("div", "complementary", "", "aside"),
        ("div", None, "navbar-content", "nav"),
        ("div", None, "content-footer", "footer"),
        ("div", None, "entry-content", "content"),
        ("div", None, "comment-content", "comments"),
        ("div", None, "mainMenu", "nav"),
        ("div", None, "sidebarLeft widget-area", "aside"),
        ("div", None, "SIDEBAR", "aside"),  # capitals, no camelCase
        ("div", None, "Kopf\u00fcberschrift men\u00fc-nav", "nav"),  # "\u00fc" separates
        ("div", None, "topNavigation", "nav"),
        ("div", None, "mainnavigation2", "nav"),  # an affix, digits kept in the token
        ("section", None, "disqus_thread", "comments"),
        ("div", None, "post-tags", "aside"),
        ("a", None, "btn btn-primary", "aside"),
        ("div", None, "wp-embedded-content", "aside"),
        ("div", None, "headline", None),
        ("div", None, "canvas-wrapper", None),
        ("main", None, "", "content"),
    ],
)
def test_marker_vocabulary(tag: str, role: str | None, id_class: str, region: str | None) -> None:
    assert marker_of(tag, role, id_class)[0] == region


def test_semantic_page() -> None:
    regions = _regions(
        "<body><header><a href='/'>Home</a><nav><a href='/a'>Menu A</a></nav></header>"
        f"<main><article><p>{PROSE}<a href='https://x.example.org/'>in text</a> {PROSE}</p>"
        "</article></main><aside><a href='/side'>Side</a></aside>"
        "<footer><a href='/imprint'>Imprint</a></footer></body>"
    )
    assert regions == {
        "Home": "header",
        "Menu A": "nav",
        "in text": "content",
        "Side": "aside",
        "Imprint": "footer",
    }


def test_header_inside_an_article_is_not_the_site_banner() -> None:
    regions = _regions(
        "<body><article><header><h1>Title</h1><p>Filed under "
        "<a href='/cat'>Category</a></p></header>"
        f"<div class='entry-content'><p>{PROSE}<a href='/x'>in text</a> {PROSE}</p></div>"
        "</article></body>"
    )
    assert regions["in text"] == "content"
    assert regions["Category"] not in ("header", "content")


def test_page_without_semantic_markup_finds_the_text_block() -> None:
    menu = "".join(f"<a href='/s{i}'>Section {i}</a><br>" for i in range(10))
    teasers = "".join(f"<div><a href='/t{i}'>Teaser story number {i}</a></div>" for i in range(5))
    regions = _regions(
        f"<body><div>{menu}</div><div><div><p>{PROSE}<a href='https://x.example.org/'>source</a>"
        f" {PROSE}</p><p>{PROSE}</p></div></div><div>{teasers}</div></body>"
    )
    assert regions["source"] == "content"
    assert regions["Section 3"] == "nav"
    assert regions["Teaser story number 2"] == "aside"


def test_wrapper_named_like_a_sidebar_does_not_swallow_the_content() -> None:
    regions = _regions(
        "<body><div class='layout has-sidebar'>"
        f"<div class='post'><p>{PROSE}<a href='/x'>in text</a> {PROSE}</p></div>"
        "<div class='sidebar'><a href='/s'>Side</a></div></div></body>"
    )
    assert regions == {"in text": "content", "Side": "aside"}


FOOTER_BOX = "<footer class='footer'><div class='content'><p>{}<a href='/h'>chrome</a></p></div>"
COMMENT_BOX = (
    "<div class='ui comments'><div class='comment'><div class='content'><p>{}"
    "<a href='/h'>chrome</a></p></div></div></div>"
)


@pytest.mark.parametrize(("chrome", "region"), [(FOOTER_BOX, "footer"), (COMMENT_BOX, "comments")])
def test_a_content_box_of_the_footer_or_a_comment_is_not_the_main_content(
    chrome: str, region: str
) -> None:
    # Without the rule, the box's "content" class outweighs the article's second paragraph.
    article = f"<p>Drills, tested. <a href='/x'>in text</a> {PROSE}</p><p>{PROSE}</p>"
    regions = _regions(f"<body><div class='container'>{article}</div>{chrome.format(PROSE)}")
    assert regions == {"in text": "content", "chrome": region}


def test_comments_inside_the_article() -> None:
    regions = _regions(
        f"<body><article><p>{PROSE}<a href='/x'>in text</a> {PROSE}</p>"
        "<div id='comments'><ol class='commentlist'><li><p>Nice post, I learnt a lot from it, "
        "thanks for writing. <a href='http://spam.example.net/'>my blog</a></p></li></ol></div>"
        "</article></body>"
    )
    assert regions == {"in text": "content", "my blog": "comments"}


def test_link_only_lines_inside_the_article_are_teasers() -> None:
    regions = _regions(
        f"<body><article><p>{PROSE}<a href='/x'>in text</a> {PROSE}</p>"
        "<p>Read also: <a href='/other'>Another story</a></p>"
        "<p><a href='/img'><img src='a.png' alt='Chart'></a></p></article></body>"
    )
    assert regions == {"in text": "content", "Another story": "aside", "Chart": "content"}


def test_page_with_no_prose_counts_links_as_content() -> None:
    assert _regions("<p><a href='/a'>Only link</a></p>") == {"Only link": "content"}


def test_table_cells_inside_the_article_are_content() -> None:
    regions = _regions(
        f"<body><article><p>{PROSE}<a href='/x'>in text</a> {PROSE}</p>"
        "<table><tr><th><a href='/mac'>Mac</a></th><td><a href='/windows'>Windows</a></td>"
        "</tr></table><p><a href='/other'>Another story</a></p></article></body>"
    )
    assert regions == {
        "in text": "content",
        "Mac": "content",
        "Windows": "content",
        "Another story": "aside",
    }


def test_links_into_the_page_inside_the_article_are_content() -> None:
    regions = _regions(
        "<body><article><ul><li><a href='#intro'>Introduction</a></li>"
        "<li><a href='#usage'>Usage</a></li></ul>"
        f"<h2 id='intro'>Introduction</h2><p>{PROSE}</p><h2 id='usage'>Usage</h2><p>{PROSE}</p>"
        "<ul><li><a href='/related'>A related story</a></li></ul></article></body>"
    )
    assert regions == {
        "Introduction": "content",
        "Usage": "content",
        "A related story": "aside",
    }


def test_buttons_and_embedded_posts_inside_the_article_are_not_its_text() -> None:
    regions = _regions(
        f"<body><article><p>{PROSE}<a href='/x'>in text</a> {PROSE}</p>"
        "<p>To keep it for later, print it here: <a class='print-button' href='/print'>Print</a></p>"
        f"<blockquote class='wp-embedded-content'><p>{PROSE}"
        "<a href='https://other.example.org/post'>An embedded post</a></p></blockquote>"
        "</article></body>"
    )
    assert regions == {
        "in text": "content",
        "Print": "aside",
        "An embedded post": "aside",
    }
