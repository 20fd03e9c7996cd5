from __future__ import annotations

from typing import Any

import pytest

from tiercrawl.core.campaign import Entry
from tiercrawl.core.matching import (
    STATUSES,
    VERDICT_PAGE_FIELDS,
    evaluate_placement,
    looks_like_challenge,
    moved_home,
    moved_to,
)
from tiercrawl.core.render import RENDER_FAILED

TARGET = "https://www.acme.example/drills/"
ENTRY = Entry(1, "https://blog.example.org/best-drills", TARGET, "Cordless Drills")


def _page(**changes: Any) -> dict[str, Any]:
    page: dict[str, Any] = {
        "url": ENTRY.url,
        "final_url": ENTRY.url,
        "status": 200,
        "error": None,
        "indexable": True,
        "indexability": [],
        "page_nofollow": False,
        "title": "The best drills of the year",
        "word_count": 1200,
    }
    page.update(changes)
    return page


def _link(url: str = TARGET, **changes: Any) -> dict[str, Any]:
    link: dict[str, Any] = {
        "source_url": ENTRY.url,
        "url": url,
        "anchor_text": "cordless drills",
        "nofollow": False,
        "sponsored": False,
        "ugc": False,
        "hidden": False,
        "region": "content",
        "position": 5,
    }
    link.update(changes)
    return link


def _status(page: dict[str, Any] | None, links: list[dict[str, Any]], **kwargs: Any) -> str:
    status: str = evaluate_placement(ENTRY, page, links, **kwargs)["status"]
    return status


def test_live_fields() -> None:
    link = _link()
    result = evaluate_placement(ENTRY, _page(), [_link("https://other.example/"), link])
    assert result == {
        "tier": 1,
        "url": ENTRY.url,
        "target": TARGET,
        "found": True,
        "link": link,
        "link_count": 1,
        "status": "live",
        "reason": "followed link on an indexable page",
        "expected_anchor": "Cordless Drills",
        "anchor_matches": True,
        "page_status": 200,
        "page_error": None,
        "moved_to": None,
        "vendor": None,
        "guaranteed_until": None,
        "price": None,
    }
    assert result["status"] in STATUSES


@pytest.mark.parametrize(
    "final",
    [
        ENTRY.url,
        "http://www.blog.example.org/best-drills/",  # scheme, www. and a slash: the same page
        "https://blog.example.org/best-drills?utm_source=feed",
    ],
)
def test_a_page_at_its_own_address_in_another_form_has_not_moved(final: str) -> None:
    assert moved_to(ENTRY.url, _page(final_url=final)) is None


def test_a_post_redirected_to_its_home_page_is_likely_gone() -> None:
    home = "https://blog.example.org/"
    result = evaluate_placement(ENTRY, _page(final_url=home, redirects=[ENTRY.url]), [])
    assert (result["status"], result["moved_to"]) == ("missing", home)
    assert result["reason"] == (
        "no link to the target on the page; the page redirects to its site's home page "
        "https://blog.example.org/: the post is likely gone"
    )
    assert moved_home(ENTRY.url, home)
    # A home page that moves to another home page is no post gone.
    assert not moved_home("https://old.example/", "https://new.example/")
    assert not moved_home(ENTRY.url, "https://blog.example.org/?p=12")


def test_a_moved_page_keeps_its_verdict_and_says_where_it_went() -> None:
    final = "https://blog.example.org/2026/best-drills"
    result = evaluate_placement(ENTRY, _page(final_url=final), [_link()])
    assert (result["status"], result["moved_to"]) == ("live", final)
    assert result["reason"] == f"followed link on an indexable page; the page moved to {final}"
    assert not moved_home(ENTRY.url, final)


def test_an_unread_page_that_redirected_has_no_moved_to() -> None:
    gone = _page(final_url="https://blog.example.org/404", status=404)
    assert evaluate_placement(ENTRY, gone, [])["moved_to"] is None


def test_stored_id_not_copied() -> None:
    assert "_id" not in evaluate_placement(ENTRY, _page(), [_link(_id="x")])["link"]


# --- statuses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "status"),
    [
        (_page(status=404), "page_error"),
        (_page(status=410), "page_error"),
        (_page(status=None, error="dns"), "page_error"),
        (None, "inconclusive"),
        (_page(status=401), "inconclusive"),
        (_page(status=403), "inconclusive"),
        (_page(status=429), "inconclusive"),
        (_page(status=500), "inconclusive"),
        (_page(status=503), "inconclusive"),
        (_page(status=400), "inconclusive"),
        (_page(status=301), "inconclusive"),
        (_page(status=None, error=None), "inconclusive"),
        (_page(status=None, error="timeout"), "inconclusive"),
        (_page(status=None, error="connection"), "inconclusive"),
        (_page(status=None, error="robots", robots_allowed=False), "inconclusive"),
        (_page(status=None, error="too_large"), "inconclusive"),
        (_page(status=200, error="not_html"), "inconclusive"),
        (_page(status=None, error="redirect_loop"), "inconclusive"),
        (_page(status=None, error="tls"), "inconclusive"),
        (_page(status=None, error="download_error"), "inconclusive"),
        (_page(), "missing"),
        (_page(status=204), "missing"),
    ],
)
def test_status_without_link(page: dict[str, Any] | None, status: str) -> None:
    assert _status(page, []) == status


@pytest.mark.parametrize(
    ("page", "links", "status"),
    [
        (_page(), [_link()], "live"),
        (_page(indexable=False, indexability=["noindex"]), [_link()], "not_indexable"),
        (_page(indexable=False, indexability=["canonicalised"]), [_link()], "not_indexable"),
        (_page(), [_link(nofollow=True)], "nofollow"),
        (_page(), [_link(sponsored=True)], "nofollow"),
        (_page(), [_link(ugc=True)], "nofollow"),
        (_page(), [_link(nofollow=True), _link(sponsored=True, position=9)], "nofollow"),
        (_page(), [_link(nofollow=True), _link(position=9)], "live"),
        (_page(page_nofollow=True), [_link()], "nofollow"),
        (_page(), [_link(hidden=True)], "live"),
    ],
)
def test_status_with_link(page: dict[str, Any], links: list[dict[str, Any]], status: str) -> None:
    assert _status(page, links) == status


@pytest.mark.parametrize(
    ("page", "links", "status"),
    [
        # page_error beats everything, even a link seen on the page
        (_page(status=404, indexable=False), [_link(nofollow=True)], "page_error"),
        (_page(status=None, error="dns"), [], "page_error"),
        # inconclusive beats missing and the verdicts on a found link
        (_page(status=503, indexable=False), [], "inconclusive"),
        (_page(status=503, indexable=False), [_link()], "inconclusive"),
        # missing beats not_indexable and nofollow
        (_page(indexable=False, page_nofollow=True), [], "missing"),
        # not_indexable beats nofollow
        (_page(indexable=False, page_nofollow=True), [_link(nofollow=True)], "not_indexable"),
        # nofollow beats live
        (_page(page_nofollow=True), [_link()], "nofollow"),
    ],
)
def test_precedence(page: dict[str, Any], links: list[dict[str, Any]], status: str) -> None:
    assert _status(page, links) == status


def test_reasons() -> None:
    def reason(page: dict[str, Any] | None, links: list[dict[str, Any]]) -> str:
        text: str = evaluate_placement(ENTRY, page, links)["reason"]
        return text

    assert reason(None, []) == "page not crawled"
    assert reason(_page(status=410), []) == "HTTP 410: the page is gone"
    assert reason(_page(status=None, error="dns"), []) == "dns failure: the host is gone"
    assert reason(_page(status=None, error="timeout"), []) == "page not read: timeout"
    assert reason(_page(status=429), []) == "page not read: HTTP 429"
    assert reason(_page(), []) == "no link to the target on the page"
    page = _page(indexable=False, indexability=["noindex", "canonicalised"])
    assert reason(page, [_link()]) == "page not indexable: noindex, canonicalised"
    assert (
        reason(_page(page_nofollow=True), [_link()]) == "the page says nofollow for all its links"
    )


@pytest.mark.parametrize("status", [404, 410, 403, 429, 503])
def test_the_links_of_an_error_page_are_no_found_link(status: int) -> None:
    # The body of a 404 or 503 page is no proof of the link, nor a link to score.
    result = evaluate_placement(ENTRY, _page(status=status), [_link()])
    assert result["status"] in ("page_error", "inconclusive")
    assert (result["found"], result["link"], result["link_count"]) == (False, None, 0)
    assert result["anchor_matches"] is None


def test_page_fields_copied() -> None:
    result = evaluate_placement(ENTRY, _page(status=None, error="timeout"), [])
    assert (result["page_status"], result["page_error"]) == (None, "timeout")
    result = evaluate_placement(ENTRY, None, [])
    assert (result["found"], result["link"], result["link_count"]) == (False, None, 0)
    assert (result["page_status"], result["page_error"]) == (None, None)


# --- firewall and bot challenges ------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "main_text", "word_count"),
    [
        ("Just a moment...", "", 0),
        ("Attention Required! | Cloudflare", "", 0),
        ("Access Denied", "", 0),
        ("Human Verification", "Please verify you are a human", 5),
        (None, "Checking your browser before accessing blog.example.org", 7),
        ("", "Request unsuccessful. Incapsula incident ID: 123", 5),
        ("Blog", "Please solve the CAPTCHA to continue", 6),
    ],
)
def test_challenge_pages(title: str | None, main_text: str, word_count: int) -> None:
    assert looks_like_challenge(title, main_text, word_count)


@pytest.mark.parametrize(
    ("title", "main_text", "word_count"),
    [
        ("Blog", "How captcha works. " + "word " * 500, 503),
        ("One more step: choosing a CAPTCHA for your shop", "word " * 722, 722),
        ("The best CAPTCHA plugins for WordPress", "Plugins compared.", 139),
        ("Access denied errors: how to fix a 403", "Check the permissions.", 120),
    ],
)
def test_articles_about_challenges_are_no_challenge(
    title: str, main_text: str, word_count: int
) -> None:
    assert not looks_like_challenge(title, main_text, word_count)


def test_ordinary_page_is_no_challenge() -> None:
    assert not looks_like_challenge("The best drills of the year", "Drills. " * 20, 20)


def test_challenge_page_is_inconclusive() -> None:
    result = evaluate_placement(ENTRY, _page(challenge=True), [])
    assert result["status"] == "inconclusive"
    assert result["reason"] == "page not read: firewall or bot challenge"
    assert _status(_page(challenge=False), []) == "missing"


def test_challenge_page_with_link_found_is_a_verdict() -> None:
    assert _status(_page(challenge=True), [_link()]) == "live"


# --- link matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.acme.example/drills/",
        "https://acme.example/drills/",
        "https://www.acme.example/drills",
        "HTTPS://WWW.ACME.EXAMPLE:443/drills/",
        "https://www.acme.example/drills/?utm_source=blog&utm_medium=post",
        "https://www.acme.example/drills/?gclid=1#reviews",
        "https://www.acme.example/%64rills/",
        "https://www.acme.example/blog/../drills/",
        "https://www.acme.example/./drills/.",
    ],
)
def test_link_matches_normalised_target(url: str) -> None:
    result = evaluate_placement(ENTRY, _page(), [_link(url)])
    assert (result["found"], result["status"]) == (True, "live")


@pytest.mark.parametrize(
    "url",
    [
        "http://www.acme.example/drills/",
        "https://www.acme.example/drills/cordless",
        "https://www.acme.example/drills/?page=2",
        "https://shop.acme.example/drills/",
        "https://www.acme.example:8443/drills/",
    ],
)
def test_other_urls_do_not_match(url: str) -> None:
    assert _status(_page(), [_link(url)]) == "missing"


def test_link_to_a_redirect_alias_matches() -> None:
    old = _link("https://acme.example/old-drills")
    aliases = ["https://www.acme.example/drills/", "https://acme.example/old-drills"]
    assert _status(_page(), [old]) == "missing"
    result = evaluate_placement(ENTRY, _page(), [old], target_aliases=aliases)
    assert (result["found"], result["status"], result["link"]) == (True, "live", old)


def test_tier2_link_to_tier1_final_url() -> None:
    entry = Entry(2, "https://forum.example.net/t/1", "https://blog.example.org/best-drills", None)
    link = _link("https://blog.example.org/2024/best-drills/")
    page = _page(url=entry.url)
    assert evaluate_placement(entry, page, [link])["status"] == "missing"
    aliases = ["https://blog.example.org/2024/best-drills", ""]
    result = evaluate_placement(entry, page, [link], target_aliases=aliases)
    assert (result["status"], result["anchor_matches"]) == ("live", None)


# --- the best link and the anchor -------------------------------------------------------------


def test_link_count_counts_every_matching_link() -> None:
    links = [
        _link(position=1),
        _link("https://acme.example/drills", position=2),
        _link("https://x.example/"),
    ]
    assert evaluate_placement(ENTRY, _page(), links)["link_count"] == 2


@pytest.mark.parametrize(
    ("worse", "better"),
    [
        (_link(nofollow=True, position=1), _link(position=2)),
        (_link(hidden=True, position=1), _link(position=2)),
        (_link(region="footer", position=1), _link(position=2)),
        (_link(position=7), _link(position=2)),
        (_link(position=None), _link(position=40)),
        (_link(region="content", hidden=True, position=1), _link(region="footer", position=2)),
        (_link(ugc=True, position=1), _link(hidden=True, region="nav", position=9)),
    ],
)
def test_best_link(worse: dict[str, Any], better: dict[str, Any]) -> None:
    entry = Entry(1, ENTRY.url, TARGET)
    assert evaluate_placement(entry, _page(), [worse, better])["link"] == better
    assert evaluate_placement(entry, _page(), [better, worse])["link"] == better


@pytest.mark.parametrize(
    ("anchor_text", "matches"),
    [
        ("cordless drills", True),
        ("  CORDLESS \n drills ", True),
        ("cord\u00adless drills", True),  # a soft hyphen shows nothing
        ("cordless drill", False),
        ("", False),
        (None, False),
    ],
)
def test_anchor_match_is_case_and_space_folded(anchor_text: str | None, matches: bool) -> None:
    result = evaluate_placement(ENTRY, _page(), [_link(anchor_text=anchor_text)])
    assert result["anchor_matches"] is matches


def test_anchor_matching_link_is_the_best_of_the_followed_visible_ones() -> None:
    followed = _link(anchor_text="click here", position=1)
    agreed = _link(anchor_text="Cordless drills", region="footer", position=30)
    result = evaluate_placement(ENTRY, _page(), [followed, agreed])
    assert (result["link"], result["anchor_matches"], result["status"]) == (agreed, True, "live")


@pytest.mark.parametrize("weaker", [{"nofollow": True}, {"sponsored": True}, {"hidden": True}])
def test_the_link_shown_bears_out_a_live_status(weaker: dict[str, bool]) -> None:
    followed = _link(anchor_text="click here", position=30)
    agreed = _link(anchor_text="Cordless drills", position=1, **weaker)
    result = evaluate_placement(ENTRY, _page(), [agreed, followed])
    assert (result["link"], result["anchor_matches"], result["status"]) == (
        followed,
        False,
        "live",
    )


def test_no_expected_anchor_or_no_link() -> None:
    no_anchor = Entry(1, ENTRY.url, TARGET)
    assert evaluate_placement(no_anchor, _page(), [_link()])["anchor_matches"] is None
    assert evaluate_placement(ENTRY, _page(), [])["anchor_matches"] is None


def test_target_domains_and_the_links_a_page_keeps() -> None:
    from tiercrawl.core.matching import links_to_domains, target_domains

    entries = [
        Entry(1, "https://blog.example.org/a", "https://www.acme.co.uk/drills/"),
        Entry(1, "https://blog.example.org/a", "https://shop.acme.co.uk/"),
        Entry(2, "https://forum.example.net/t/1", "https://blog.example.org/a"),
    ]
    domains = target_domains(entries)
    assert domains == {
        "https://blog.example.org/a": frozenset({"acme.co.uk"}),
        "https://forum.example.net/t/1": frozenset({"example.org"}),
    }
    links = [
        {"domain": "acme.co.uk", "position": 0},
        {"domain": "other.org", "position": 1},
    ]
    kept = links_to_domains(links, domains["https://blog.example.org/a"])
    assert [link["position"] for link in kept] == [0]


def test_a_host_without_public_suffix_keeps_its_www_links() -> None:
    from tiercrawl.core.matching import links_to_domains, target_domains

    entry = Entry(1, "http://blog.test/a", "http://acme.test/drills/")
    domains = target_domains([entry])[entry.url]
    links = [
        {"domain": "www.acme.test", "url": "http://www.acme.test/drills/", "position": 0},
        {"domain": "acme.test", "url": "http://acme.test/drills/", "position": 1},
        {"domain": "shop.acme.test", "url": "http://shop.acme.test/drills/", "position": 2},
    ]
    kept = links_to_domains(links, domains)
    assert [link["position"] for link in kept] == [0, 1]
    assert evaluate_placement(entry, _page(url=entry.url), kept[:1])["status"] == "live"


def test_a_page_whose_render_failed_has_no_verdict_on_a_link_it_lacks() -> None:
    failed = _page(render_reason="target_absent: 1 of 1 expected links; render failed: timeout")
    result = evaluate_placement(ENTRY, failed, [])
    reason = "page not read: its render failed (timeout; rendered for target_absent: 1 of 1"
    assert (result["status"], result["reason"]) == ("inconclusive", reason + " expected links)")
    # The raw page had the link: a verdict all the same.
    assert _status(failed, [_link()]) == "live"
    assert _status(_page(render_reason="target_absent: 1 of 1 expected links"), []) == "missing"
    # A rendered page whose noscript plea (quoted in its reason) reads like a failure.
    plea = _page(rendered=True, render_reason="noscript: enable JS; render failed: none")
    assert _status(plea, []) == "missing"


def test_an_agreed_anchor_matches_whatever_unicode_form_spells_it() -> None:
    entry = Entry(1, ENTRY.url, TARGET, "Müller Akkuschrauber")
    decomposed = _link(anchor_text="Mu\u0308ller Akkuschrauber")  # u + combining diaeresis
    assert evaluate_placement(entry, _page(), [decomposed])["anchor_matches"] is True
    without_accent = _link(anchor_text="Muller Akkuschrauber")
    assert evaluate_placement(entry, _page(), [without_accent])["anchor_matches"] is False


def test_a_link_not_found_on_a_page_read_in_part_is_no_verdict() -> None:
    result = evaluate_placement(ENTRY, _page(truncated=True), [])
    assert (result["status"], result["reason"]) == (
        "inconclusive",
        "page not read whole: nested deeper than the parser reads",
    )
    assert evaluate_placement(ENTRY, _page(truncated=True), [_link()])["status"] == "live"


def test_a_placement_carries_the_deal_the_campaign_records() -> None:
    deal = Entry(1, ENTRY.url, TARGET, None, "Outreach Co", "2027-06-30", 120.0)
    result = evaluate_placement(deal, _page(), [_link()])
    assert (result["vendor"], result["guaranteed_until"], result["price"]) == (
        "Outreach Co",
        "2027-06-30",
        120.0,
    )


class _ReadFields(dict[str, Any]):
    """A page that notes which of its fields are read."""

    def __init__(self, page: dict[str, Any]) -> None:
        super().__init__(page)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize(
    ("changes", "links"),
    [
        ({}, [_link()]),
        ({}, []),
        ({"final_url": "https://blog.example.org/"}, []),
        ({"status": 404}, []),
        ({"error": "dns", "status": None}, []),
        ({"status": 503}, []),
        ({"challenge": True}, []),
        ({"truncated": True}, []),
        ({"render_reason": f"scripts{RENDER_FAILED}timeout", "rendered": False}, []),
        ({"indexable": False, "indexability": ["noindex"]}, [_link()]),
        ({"page_nofollow": True}, [_link()]),
        ({}, [_link(nofollow=True)]),
    ],
)
def test_a_verdict_reads_only_the_page_fields_jobs_fetch(
    changes: dict[str, Any], links: list[dict[str, Any]]
) -> None:
    # tiercrawl.jobs.placements reads only VERDICT_PAGE_FIELDS of each page.
    page = _ReadFields(_page(**changes))
    evaluate_placement(ENTRY, page, links)
    assert page.read
    assert page.read <= VERDICT_PAGE_FIELDS, page.read - VERDICT_PAGE_FIELDS
