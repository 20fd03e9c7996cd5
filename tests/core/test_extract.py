"""Link and page facts: golden pages, then one fact per test."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from tiercrawl.core.extract import MAIN_TEXT_LIMIT, extract_page, parse_page

# Each test runs with both walks: the compiled one and the Python one eggs use.
pytestmark = pytest.mark.usefixtures("each_walk")

PAGES = Path(__file__).parent.parent / "data" / "pages"
# The URL each golden page is read as (its final URL).
PAGE_URLS = {
    "blog_post": "https://blog.example.org/reviews/best-drills?ref=feed",
    "plain_layout": "http://www.example.de/tests/bohrmaschinen.html",
}


def _links(html: str, url: str = "https://site.example.com/page") -> list[dict[str, object]]:
    return [asdict(link) for link in extract_page(html, url).links]


@pytest.mark.parametrize("name", sorted(PAGE_URLS))
def test_golden_page(name: str) -> None:
    expected = [
        json.loads(line)
        for line in (PAGES / f"{name}.expected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    got = _links((PAGES / f"{name}.html").read_bytes().decode("latin-1"), PAGE_URLS[name])
    assert got == expected


def test_golden_page_facts() -> None:
    page = extract_page((PAGES / "blog_post.html").read_bytes(), PAGE_URLS["blog_post"])
    assert page.title == "Best Cordless Drills of the Year | Tool Blog"
    assert page.lang == "en-GB"
    assert page.meta_robots == ["index", "follow", "noarchive"]
    assert page.base_url == "https://blog.example.org/reviews/"
    assert page.canonical == "https://blog.example.org/reviews/best-drills"
    assert page.outbound_links == sum(link.external for link in page.links) == 8
    assert page.main_text.startswith("We tested twenty drills")
    assert "Popular posts" not in page.main_text
    assert "not a link" not in page.main_text


def test_plain_page_facts() -> None:
    page = extract_page((PAGES / "plain_layout.html").read_bytes(), PAGE_URLS["plain_layout"])
    assert page.lang == "de"  # from <meta http-equiv=content-language>
    assert page.meta_robots == ["noindex"]
    assert page.canonical is None
    assert page.base_url == PAGE_URLS["plain_layout"]
    assert "zwölf Akku-Bohrschrauber" in page.main_text


def test_non_http_links_are_left_out_and_positions_count_kept_links() -> None:
    links = _links(
        '<p><a href="mailto:a@b.c">mail</a><a href="javascript:go()">js</a>'
        '<a href="tel:123">call</a><a href="/one">one</a><a>no href</a>'
        '<a href="ftp://x.example.com/">ftp</a><a href="two">two</a></p>'
    )
    assert [(link["anchor_text"], link["position"]) for link in links] == [("one", 0), ("two", 1)]
    assert links[1]["url"] == "https://site.example.com/two"


def test_relative_base_href_resolves_against_the_page_url() -> None:
    page = extract_page(
        '<head><base href="/docs/v2/"></head><a href="intro">x</a>',
        "https://site.example.com/a/b",
    )
    assert page.base_url == "https://site.example.com/docs/v2/"
    assert page.links[0].url == "https://site.example.com/docs/v2/intro"
    assert page.links[0].href == "intro"


def test_external_compares_registered_domains() -> None:
    links = _links(
        '<a href="https://www.example.com/">www</a><a href="https://blog.example.co.uk/">uk</a>',
        "https://shop.example.com/x",
    )
    assert [(link["domain"], link["external"]) for link in links] == [
        ("example.com", False),
        ("example.co.uk", True),
    ]


def test_anchor_kinds() -> None:
    links = _links(
        '<a href="/t"> Some\n  <b>bold</b>\ttext </a>'
        '<a href="/i"><img src="x.png" alt=" Logo  of ACME "></a>'
        '<a href="/e"><img src="x.png"></a>'
        '<a href="/ti"><img src="x.png" alt="ignored"> caption</a>'
    )
    assert [(link["anchor_text"], link["anchor_kind"]) for link in links] == [
        ("Some bold text", "text"),
        ("Logo of ACME", "image"),
        ("", "empty"),
        ("caption", "text"),
    ]


def test_rel_tokens_are_lower_cased_and_flagged() -> None:
    (link,) = _links('<a href="/x" rel=" NoFollow  Sponsored UGC noopener">x</a>')
    assert link["rel"] == ["nofollow", "sponsored", "ugc", "noopener"]
    assert link["nofollow"]
    assert link["sponsored"]
    assert link["ugc"]


def test_a_link_showing_only_zero_width_characters_is_empty() -> None:
    (link,) = _links('<p>See <a href="/x">\u200b&#8203; </a> here.</p>')
    assert (link["anchor_text"], link["anchor_kind"]) == ("", "empty")


def test_control_characters_are_kept_out_of_the_text() -> None:
    # A hostile page's escape sequences would reach terminals through diff and reports.
    # A browser shows nothing of them: words on either side join, within a text node
    # or across a tag alike.
    html = (
        "<title>Drills\x1b]0;owned\x07</title><p>Read \x1b[2J<a href='/x'>cordless"
        "\x1b[31m drills\x9b</a> now\x00. Best\x07tools, best\x07<i>tools</i>.</p>"
        "<img alt='x\x1by'>"
    )
    facts = extract_page(html, "https://site.example.com/page")
    (link,) = facts.links
    assert facts.title == "Drills]0;owned"
    assert link.anchor_text == "cordless[31m drills"
    # libxml2 makes NUL U+FFFD.
    assert link.context == "Read [2Jcordless[31m drills now\ufffd. Besttools, besttools."
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in facts.main_text)


def test_bidirectional_overrides_are_kept_out_of_the_text() -> None:
    # U+202E in an anchor reversed the rest of its line in the HTML report; Arabic stays.
    html = "<p>\u2067Read\u2069 <a href='/x'>\u202edrills\u202c \u0645\u062b\u0627\u0644</a>.</p>"
    (link,) = extract_page(html, "https://site.example.com/page").links
    assert link.anchor_text == "drills \u0645\u062b\u0627\u0644"
    assert link.context == "Read drills \u0645\u062b\u0627\u0644."


def test_rel_tokens_may_be_separated_by_commas() -> None:
    ugc, sponsored = _links(
        '<a href="/a" rel="ugc, nofollow">a</a><a href="/b" rel="Sponsored,nofollow">b</a>'
    )
    assert (ugc["rel"], ugc["ugc"], ugc["nofollow"]) == (["ugc", "nofollow"], True, True)
    assert (sponsored["rel"], sponsored["sponsored"]) == (["sponsored", "nofollow"], True)


@pytest.mark.parametrize(
    ("markup", "hidden"),
    [
        ('<a href="/x" style="DISPLAY: none">x</a>', True),
        ('<div style="visibility:hidden"><a href="/x">x</a></div>', True),
        ('<span style="font-size: 0px"><a href="/x">x</a></span>', True),
        ('<a href="/x" style="opacity:0">x</a>', True),
        ('<div style="position:absolute;left:-9999px"><a href="/x">x</a></div>', True),
        ('<a href="/x" style="display:\tnone">x</a>', True),
        ('<a href="/x" style="color:red; display:none !important">x</a>', True),
        ('<a href="/x" style="opacity:0.0">x</a>', True),
        ('<a href="/x" style="visibility:collapse">x</a>', True),
        ('<a href="/x" style="display:none-ish">x</a>', False),
        ('<a href="/x" style="opacity:">x</a>', False),
        ('<a href="/x" style="font-size:0.5em">x</a>', False),
        ('<div style="position:absolute;\nleft:\n-9999px"><a href="/x">x</a></div>', True),
        ('<p style="text-indent: -5000px"><a href="/x">x</a></p>', True),
        ('<div hidden><a href="/x">x</a></div>', True),
        ('<div aria-hidden="true"><a href="/x">x</a></div>', True),
        ('<template><a href="/x">x</a></template>', True),
        ('<a href="/x" style="font-size:0.9em;opacity:0.8">x</a>', False),
        ('<noscript><a href="/x">x</a></noscript>', False),
        ('<div style="margin-left:-10px"><a href="/x">x</a></div>', False),
    ],
)
def test_hidden_links(markup: str, hidden: bool) -> None:
    (link,) = _links(f"<body>{markup}</body>")
    assert link["hidden"] is hidden


@pytest.mark.parametrize("hiding", ['style="display:none"', "hidden", 'aria-hidden="true"'])
def test_hidden_text_inside_a_visible_link_is_no_part_of_its_anchor(hiding: str) -> None:
    (link,) = _links(f'<p>Try <a href="/x"><span {hiding}>cheap pills</span>Acme drills</a></p>')
    assert (link["anchor_text"], link["hidden"]) == ("Acme drills", False)
    assert link["context"] == "Try Acme drills"


def test_a_hidden_links_anchor_is_only_in_its_own_context() -> None:
    page = extract_page(
        "<p>Our pick is the <a href='/x'>Acme drill</a> for brick"
        "<a href='https://spam.example/' style='display:none'>cheap pills</a> and steel.</p>",
        "https://a.example.com/",
    )
    visible, hidden = page.links
    assert visible.context == "Our pick is the Acme drill for brick and steel."
    assert (hidden.hidden, hidden.anchor_text) == (True, "cheap pills")
    assert "cheap pills" in hidden.context
    assert "cheap pills" not in page.main_text


def test_script_and_style_text_stays_out_of_anchor_and_context() -> None:
    (link,) = _links(
        "<p>Before <a href='/x'>the <script>var a = 1;</script>anchor"
        "<style>a{}</style></a> after.</p>"
    )
    assert link["anchor_text"] == "the anchor"
    assert link["context"] == "Before the anchor after."


def test_context_is_centred_on_the_anchor_and_cut_at_words() -> None:
    words = " ".join(f"w{i}" for i in range(400))
    html = f"<p>{words} <a href='/x'>THE ANCHOR</a> {words}</p>"
    context = extract_page(html, "https://a.example.com/", context_chars=100).links[0].context
    assert "THE ANCHOR" in context
    assert len(context) <= 100
    before, after = context.split("THE ANCHOR")
    assert abs(len(before) - len(after)) < 12
    assert context.split()[0] in words.split()
    assert context.split()[-1] in words.split()


def test_a_lone_link_in_a_marked_box_takes_no_context_from_outside_it() -> None:
    links = _links(
        "<div><p>Article prose about drills, long enough to be a paragraph.</p>"
        "<div class='sidebar'><a href='/s'>Sponsor</a></div></div>"
    )
    assert links[0]["context"] == "Sponsor"


def test_context_comes_from_the_enclosing_block() -> None:
    (link,) = _links("<div><p>Other paragraph.</p><p>See <a href='/x'>this</a> here.</p></div>")
    assert link["context"] == "See this here."


def test_bytes_use_the_meta_charset() -> None:
    html = '<meta charset="windows-1252"><p><a href="/x">Caf\xe9 cr\xe8me</a></p>'
    page = extract_page(html.encode("cp1252"), "https://a.example.com/")
    assert page.links[0].anchor_text == "Café crème"


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        ("iso-8859-1", b"\x93caf\xe9\x94", "\u201ccaf\xe9\u201d"),  # read as windows-1252
        ("us-ascii", b"caf\xe9", "caf\xe9"),
        ("utf-16", "café".encode(), "café"),  # a readable <meta> is no UTF-16: UTF-8
        ("utf-32", "café".encode(), "café"),
        ("no-such-charset", "café".encode(), "café"),
    ],
)
def test_charset_labels_are_read_as_browsers_do(charset: str, data: bytes, text: str) -> None:
    html = f'<meta charset="{charset}"><p><a href="/x">'.encode() + data + b"</a></p>"
    assert extract_page(html, "https://a.example.com/").links[0].anchor_text == text


def test_bytes_without_charset_are_read_as_utf8() -> None:
    page = extract_page("<a href='/x'>Ærøskøbing</a>".encode(), "https://a.example.com/")
    assert page.links[0].anchor_text == "Ærøskøbing"


def test_xml_declaration_in_text_is_accepted() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?><html><body><a href="/x">x</a></body></html>'
    assert len(extract_page(html, "https://a.example.com/").links) == 1


@pytest.mark.parametrize("html", ["", "   ", b"", "<html></html>", "just text", "<<<>>>"])
def test_empty_or_junk_documents(html: str | bytes) -> None:
    page = extract_page(html, "https://a.example.com/")
    assert page.links == []
    assert page.outbound_links == 0
    assert page.base_url == "https://a.example.com/"


def test_broken_markup_is_repaired() -> None:
    links = _links("<div><p>Unclosed <a href='/a'>first<p>next <a href=/b>second</div></table>")
    assert [link["url"] for link in links] == [
        "https://site.example.com/a",
        "https://site.example.com/b",
    ]


def test_meta_robots_merges_robots_and_googlebot_without_duplicates() -> None:
    page = extract_page(
        '<meta name="robots" content="noindex, NOFOLLOW">'
        '<meta name="googlebot" content="nofollow,noarchive">'
        '<meta name="bingbot" content="nosnippet">',
        "https://a.example.com/",
    )
    assert page.meta_robots == ["noindex", "nofollow", "noarchive"]


@pytest.mark.parametrize(
    ("content", "tokens"),
    [
        ("noindex nofollow", ["noindex", "nofollow"]),  # a common mistake for "noindex, nofollow"
        ("max-snippet:20, none", ["max-snippet", "none"]),
        ("unavailable_after: Friday, 25-Jun-2010 15:00:00 GMT", ["unavailable_after"]),
    ],
)
def test_meta_robots_directives_are_kept_by_name(content: str, tokens: list[str]) -> None:
    page = extract_page(f'<meta name="robots" content="{content}">', "https://a.example.com/")
    assert page.meta_robots == tokens


def test_an_svg_title_is_not_the_page_title() -> None:
    url = "https://a.example.com/"
    assert extract_page("<body><svg><title>Icon</title></svg><p>x</p></body>", url).title is None
    page = extract_page("<title>Page</title><body><svg><title>Icon</title></svg></body>", url)
    assert page.title == "Page"


@pytest.mark.parametrize(
    ("markup", "canonical"),
    [
        ('<head><link rel="canonical" href="/a"></head>', "https://a.example.com/a"),
        (
            '<head><link rel="canonical" href="/a"><link rel="canonical" href="/a"></head>',
            "https://a.example.com/a",
        ),
        # Search engines ignore a canonical in the body, and conflicting ones altogether.
        ('<head></head><body><p>x</p><link rel="canonical" href="/a"></body>', None),
        ('<head><link rel="canonical" href="/a"><link rel="canonical" href="/b"></head>', None),
    ],
)
def test_canonical(markup: str, canonical: str | None) -> None:
    assert extract_page(markup, "https://a.example.com/page").canonical == canonical


def test_word_count_skips_scripts_and_hidden_text() -> None:
    page = extract_page(
        "<body><p>one two three</p><script>four five</script>"
        "<div style='display:none'>six seven</div><noscript>eight</noscript></body>",
        "https://a.example.com/",
    )
    assert page.word_count == 4


@pytest.mark.parametrize(
    ("prose", "folded"),
    [
        ("Cordless drills for brick", "Cordless drills for brick"),  # nothing to fold
        (" Cordless drills ", "Cordless drills"),
        ("Cordless  drills\tfor\nbrick", "Cordless drills for brick"),
        ("Cordless\u00a0drills\u2009for\u3000brick", "Cordless drills for brick"),
        ("Cordless\x1fdrills\x85for\u2028brick", "Cordless drills for brick"),
    ],
)
def test_text_is_folded_to_single_spaces_and_counted_by_words(prose: str, folded: str) -> None:
    page = extract_page(
        f"<body><p>{prose} <a href='/kit'>the kit</a> today.</p></body>", "https://a.example.com/"
    )
    assert page.main_text == f"{folded} the kit today."
    assert page.links[0].context == f"{folded} the kit today."
    assert page.word_count == len(folded.split(" ")) + 3  # "the kit today."


def test_main_text_is_capped() -> None:
    html = "<p>" + "word, " * 10000 + "</p>"
    assert len(extract_page(html, "https://a.example.com/").main_text) == MAIN_TEXT_LIMIT


def test_cli_prints_one_json_object_per_link(capsys: pytest.CaptureFixture[str]) -> None:
    from tiercrawl.cli import main

    path = PAGES / "blog_post.html"
    assert main(["extract", "--url", PAGE_URLS["blog_post"], str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = (PAGES / "blog_post.expected.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected)
    assert lines[0]["source_url"] == PAGE_URLS["blog_post"]
    assert {k: v for k, v in lines[4].items() if k != "source_url"} == json.loads(expected[4])


def test_cli_escapes_control_characters_left_in_urls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tiercrawl.cli import main

    path = tmp_path / "page.html"
    path.write_text('<p><a href="/x\u009by">Drills</a></p>', encoding="utf-8")
    assert main(["extract", "--url", "https://a.example.com/", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\u009b" not in out  # the raw character: a terminal's CSI
    assert json.loads(out)["href"] == "/x\u009by"  # written as JSON's escape instead


def test_cli_reports_an_unreadable_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tiercrawl.cli import main

    assert main(["extract", "--url", "https://a.example.com/", str(tmp_path / "no.html")]) == 1
    err = capsys.readouterr().err
    assert "cannot read" in err
    assert "no.html" in err
    assert "Traceback" not in err


def test_a_page_nested_deeper_than_the_parser_reads_says_so() -> None:
    deep = "<div>" * 2100 + '<a href="/b">deep</a>' + "</div>" * 2100
    page = extract_page(f'<p><a href="/a">before</a></p>{deep}', "https://a.example.com/")
    assert [link.anchor_text for link in page.links] == ["before"]
    assert page.truncated
    shallow = "<div>" * 20 + '<a href="/b">deep</a>' + "</div>" * 20
    assert not extract_page(shallow, "https://a.example.com/").truncated
    assert not extract_page("<p>ok</span></p><nav>", "https://a.example.com/").truncated


def test_a_page_parsed_before_keeps_what_its_parse_said() -> None:
    deep = "<div>" * 2100 + '<a href="/b">deep</a>' + "</div>" * 2100
    parsed = parse_page(f'<p><a href="/a">before</a></p>{deep}')
    assert parsed is not None
    assert parsed.truncated
    assert parse_page("<p>another page, parsed since</p>") is not None
    page = extract_page("", "https://a.example.com/", parsed=parsed)
    assert [link.anchor_text for link in page.links] == ["before"]
    assert page.truncated
    assert parse_page("   ") is None
