"""``tiercrawl.core.render``: raw-page signals, the render decision, raw vs rendered links."""

from __future__ import annotations

import pytest

from tiercrawl.core.extract import extract_page, parse_page
from tiercrawl.core.render import (
    PageSignals,
    RenderFacts,
    RenderPolicy,
    SiteMemory,
    compare_links,
    decide_render,
    mark_rendered_only,
    scan_html,
    scan_page,
)

URL = "https://blog.example.org/post"
TARGET = "https://www.acme.example/drills/"
ARTICLE = "<p>" + "Cordless drills compared on real job sites. " * 10 + "</p>"
AUTO = RenderPolicy()


def signals(**changes: object) -> PageSignals:
    base = {"scripts": 2, "text_chars": 800, "app_root": None, "noscript_plea": None, "links": ()}
    return PageSignals(**{**base, **changes})  # type: ignore[arg-type]


def decide(
    sig: PageSignals,
    *,
    policy: RenderPolicy = AUTO,
    status: int | None = 200,
    targets: tuple[str, ...] = (TARGET,),
    site: bool = False,
) -> tuple[bool, str | None]:
    return decide_render(policy, RenderFacts(URL, status, sig, targets, site))


# --- scan_html -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "noscript",
    ["", "  ", "Enable JavaScript to see the comments"],
    ids=["empty", "whitespace", "text"],
)
def test_scan_page_leaves_the_extraction_its_tree(noscript: str) -> None:
    # One parse a page: the scan takes out what the extraction skips, and only that.
    html = (
        f"<html><head><style>p {{}}</style><script>var a = 1</script></head><body>{ARTICLE}"
        f'<p>Best <script>x()</script><a href="{TARGET}">drills</a> here</p>'
        f'<noscript>{noscript}<a href="/no-js">no js</a></noscript>'
        '<template><a href="/later">later</a></template></body></html>'
    )
    parsed = parse_page(html)
    assert parsed is not None
    assert scan_page(parsed, URL) == scan_html(html, URL)
    assert not list(parsed.root.iter("script", "style"))
    assert len(list(parsed.root.iter("noscript", "template"))) == 2
    assert extract_page(html, URL, parsed=parsed) == extract_page(html, URL)
    assert scan_page(None, URL) == scan_html("   ", URL)


def test_scan_counts_executable_scripts_only() -> None:
    html = (
        "<head><script src=a.js></script><script type=module>1</script>"
        "<script type='text/javascript; charset=utf-8'>2</script>"
        "<script type=application/ld+json>{}</script><script type=text/template><b></b></script>"
        "</head><body>x</body>"
    )
    assert scan_html(html, URL).scripts == 3


def test_scan_counts_every_javascript_type_and_handlers_that_run_by_themselves() -> None:
    html = (
        "<head><script type='text/x-javascript'>1</script>"
        "<script type='text/javascript1.5'>2</script></head>"
        "<body onload='go()'><svg onload='go()'></svg><img src=x onerror='go()'>"
        "<button onclick='go()'>a click is no render</button></body>"
    )
    assert scan_html(html, URL).scripts == 5


def test_scan_text_leaves_out_scripts_styles_noscript_and_head() -> None:
    html = (
        "<head><title>A long title that is not body text</title><style>p{}</style></head>"
        "<body><p>Hello   world</p><script>var x = 'hidden';</script>"
        "<noscript>Enable JavaScript</noscript><template>tpl</template></body>"
    )
    assert scan_html(html, URL).text_chars == len("Hello world")


@pytest.mark.parametrize(
    ("body", "marker"),
    [
        ('<div id="root"></div>', "#root"),
        ('<div id="__next"><p>ssr</p></div>', "#__next"),
        ('<app-root ng-version="17.0.0"></app-root>', "[ng-version]"),
        ('<div data-reactroot=""></div>', "[data-reactroot]"),
        ('<div id="content"></div>', None),
    ],
)
def test_scan_finds_framework_roots(body: str, marker: str | None) -> None:
    assert scan_html(f"<body>{body}</body>", URL).app_root == marker


@pytest.mark.parametrize(
    ("noscript", "plea"),
    [
        ("You need to enable JavaScript to run this app.", True),
        ("Please enable JavaScript to view the comments powered by Disqus.", True),
        ("This site requires JavaScript.", True),
        ("JavaScript is disabled in your browser.", True),
        ('<img src="/pixel.gif" alt="">', False),
        ("Our newsletter is great.", False),
    ],
)
def test_scan_reads_noscript_pleas(noscript: str, plea: bool) -> None:
    found = scan_html(f"<body><noscript>{noscript}</noscript></body>", URL).noscript_plea
    assert (found is not None) is plea


def test_scan_links_resolve_against_the_first_base_href() -> None:
    html = (
        '<head><base href="https://cdn.example.org/dir/"><base href="https://other.example/">'
        '</head><body><a href="page">A <b>bold</b>\n link</a><a href="mailto:x@y.z">mail</a>'
        '<a href="/root">root</a><a>no href</a><a href="https://a.example/x">x</a></body>'
    )
    assert scan_html(html, URL).links == (
        "https://cdn.example.org/dir/page",
        "https://cdn.example.org/root",
        "https://a.example/x",
    )


def test_scan_finds_the_first_framework_root_and_counts_each_handler_element_once() -> None:
    html = (
        '<body><div id="main"><div id="app" data-v-app=""></div></div><div id="root"></div>'
        "<img src=x onload='a()' onerror='b()'></body>"
    )
    sig = scan_html(html, URL)
    assert (sig.app_root, sig.scripts) == ("[data-v-app]", 1)


def test_scan_text_drops_control_characters_of_any_text() -> None:
    html = "<body><p>Gr\u00fc\u00dfe\x07 aus  K\u00f6ln\u202e</p></body>"
    assert scan_html(html, URL).text_chars == len("Grüße aus Köln")


@pytest.mark.parametrize("html", ["", "   ", "\x00", "<?xml version='1.0' encoding='latin-1'?>"])
def test_scan_survives_empty_and_odd_documents(html: str) -> None:
    sig = scan_html(html, URL)
    assert (sig.scripts, sig.links) == (0, ())


# --- decide_render ---------------------------------------------------------------------


def test_never_and_always_ignore_the_page() -> None:
    shell = signals(text_chars=0, app_root="#root")
    assert decide(shell, policy=RenderPolicy("never")) == (False, None)
    assert decide(signals(scripts=0), policy=RenderPolicy("always"), status=404) == (
        True,
        "always",
    )


def test_auto_renders_an_app_shell_first() -> None:
    render, reason = decide(signals(text_chars=12, app_root="#root"))
    assert render
    assert reason == "app_shell: #root, 12 characters of text"
    assert decide(signals(text_chars=0))[1] == "app_shell: 0 characters of text"


def test_auto_renders_when_an_expected_target_is_absent() -> None:
    links = ("https://other.example/",)
    render, reason = decide(signals(links=links), targets=(TARGET, "https://acme.example/saws/"))
    assert render
    assert reason == "target_absent: 2 of 2 expected links not in the raw HTML, 2 scripts"


def test_auto_matches_targets_with_the_contract_normalisation() -> None:
    # www., trailing slash, fragment and tracking parameters do not make a target absent.
    links = ("https://ACME.example/drills?utm_source=blog#buy",)
    assert decide(signals(links=links)) == (False, None)


def test_auto_never_renders_a_page_without_scripts() -> None:
    assert decide(signals(scripts=0, text_chars=0, links=())) == (False, None)


@pytest.mark.parametrize("status", [None, 301, 404, 503])
def test_auto_never_renders_error_pages(status: int | None) -> None:
    assert decide(signals(text_chars=0), status=status) == (False, None)


def test_auto_renders_noscript_pleas_and_known_sites_only_after_the_target_check() -> None:
    present = ("https://acme.example/drills/",)
    plea = "Please enable JavaScript to view the comments."
    assert decide(signals(links=present, noscript_plea=plea)) == (True, f"noscript: {plea}")
    assert decide(signals(links=present), site=True) == (
        True,
        "site_rendered: blog.example.org needed rendering earlier in the run",
    )
    assert decide(signals(links=present)) == (False, None)
    # A target page (tier 0) expects no link: only the page's own signals count.
    assert decide(signals(), targets=()) == (False, None)


def test_policy_refuses_unknown_modes() -> None:
    with pytest.raises(ValueError, match="expected one of auto, always, never"):
        RenderPolicy("sometimes")


# --- compare_links / mark_rendered_only ------------------------------------------------


def test_compare_links_pairs_as_multisets() -> None:
    raw = [("https://a.example/", "A"), ("https://b.example/", "B"), ("https://a.example/", "A")]
    rendered = [
        ("https://a.example/", "A"),
        ("https://c.example/", "C"),
        ("https://a.example/", "A"),
        ("https://a.example/", "A"),
    ]
    diff = compare_links(raw, rendered)
    assert diff.rendered_only == (1, 3)
    assert diff.removed == (1,)


def test_compare_links_a_rewritten_anchor_is_the_same_link() -> None:
    raw = [("https://a.example/x", "old"), ("https://a.example/x", "kept")]
    rendered = [("https://a.example/x", "kept"), ("https://www.a.example/x/?utm_id=1", "new")]
    diff = compare_links(raw, rendered)
    assert (diff.rendered_only, diff.removed) == ((), ())


def test_mark_rendered_only_on_extracted_links() -> None:
    raw = extract_page(
        f'<body>{ARTICLE}<a href="/partner">Partner</a><a href="{TARGET}">Acme</a></body>', URL
    )
    rendered = extract_page(
        f'<body>{ARTICLE}<a href="{TARGET}">Acme</a><a href="/widget">Widget</a></body>', URL
    )
    removed = mark_rendered_only(rendered.links, raw.links)
    assert [(link.url, link.rendered_only) for link in rendered.links] == [
        (TARGET, False),
        ("https://blog.example.org/widget", True),
    ]
    assert [link.url for link in removed] == ["https://blog.example.org/partner"]


# --- SiteMemory ------------------------------------------------------------------------


def test_site_memory_learns_only_when_rendering_revealed_links() -> None:
    memory = SiteMemory()
    raw = signals(links=("https://a.example/", "https://a.example/"))
    assert not memory.learn(URL, raw, raw)
    # The same targets, one dropped or written another way: nothing revealed.
    assert not memory.learn(URL, raw, signals(links=("https://www.a.example/?utm_id=1",)))
    assert URL not in memory
    assert memory.learn(URL, raw, signals(links=(*raw.links, "https://a.example/")))
    assert memory.learn(URL, raw, signals(links=(*raw.links, "https://b.example/")))
    assert "https://www.blog.example.org/other" in memory
    assert "https://forum.example.org/t/1" not in memory


@pytest.mark.parametrize(
    ("status", "html", "expected"),
    [
        (200, "<p>text</p><SCRIPT src=a.js></SCRIPT>", True),
        (200, "<script>x()</script>", True),
        (200, "<p>text</p><SCRIPT\tsrc=app.js></SCRIPT>", True),
        (200, "<p>text</p><Script>x()</Script>", True),
        (200, "<p>no scripts, only <scripted> words</p>", False),
        (200, "<body ONLOAD='go()'><p>text</p></body>", True),
        (200, '<svg onload = "go()"></svg>', True),
        (200, "<p>words like onload= in prose</p>", False),
        (200, "<button onclick='go()'>x</button>", False),
        (404, "<script>x()</script>", False),
        (None, "<script>x()</script>", False),
    ],
)
def test_may_need_render(status: int | None, html: str, expected: bool) -> None:
    from tiercrawl.core.render import may_need_render

    assert may_need_render(status, html) is expected
