"""URL helpers: ``resolve_link`` gives what ``resolve`` and ``registered_domain`` give."""

from __future__ import annotations

import pytest

from tiercrawl.core.urls import (
    hide_credentials,
    http_url_problem,
    is_http_url,
    match_domain,
    registered_domain,
    resolve,
    resolve_link,
    same_target,
)

BASES = [
    "https://blog.example.co.uk/reviews/best-drills?ref=feed#top",
    "http://127.0.0.31:8000/tools/0.html",
    "https://example.com",
    "https://example.com/a/b/",
    "http://example.com/a//b/c",
    "http://example.com/a/./b/c",
    "http://u:p@Example.COM./a/b;p?q=1",
    "http://[::1]:8080/x/",
    "file:///tmp/page.html",
    " https://example.com/padded ",
]
HREFS = [
    "",
    "  ",
    "#",
    "#comments",
    "#a?b#c",
    "/",
    "/drills/",
    "/a/b?x=1&y=2#frag",
    "/a/./b/../c",
    "/a;params?q",
    "/a?",
    "/a#",
    "/a?#f",
    "/tab\there",
    "//cdn.example.net/x.js",
    "relative/page.html",
    "page.html?x=1#y",
    "dir/",
    "a//b",
    "ünï/cödé.html",
    "x:y",
    "a?b:c",
    "\x01lead",
    "../up",
    "?only=query",
    "http://other.example.org/x",
    "https://blog.example.co.uk/reviews/",
    "HTTPS://Shop.Example.NET/Basket",
    "http://example.com/x#",
    "http://example.com/x;p",
    "http://[::1/broken",
    "http:no-host",
    "http://./",
    "https://acme.example/blog/../drills/",
    "https://acme.example/./a/.",
    "https://acme.example/.well-known/x",
    "https://acme.example/a/..?q=/../#f",
    "https://127.0.0.1:8443/admin",
    "mailto:a@example.com",
    "javascript:void(0)",
    "ftp://files.example.com/",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("href", HREFS)
def test_resolve_link_matches_resolve_and_registered_domain(href: str, base: str) -> None:
    url = resolve(href, base)
    expected = None if url is None else (url, registered_domain(url))
    assert resolve_link(href, base) == expected


def test_resolve_link_examples() -> None:
    base = "https://blog.example.co.uk/reviews/best-drills?ref=feed"
    assert resolve_link("/shop", base) == ("https://blog.example.co.uk/shop", "example.co.uk")
    assert resolve_link("#c", base) == (f"{base}#c", "example.co.uk")
    assert resolve_link("http://www.acme.com/", base) == (
        "http://www.acme.com/",
        "acme.com",
    )
    assert resolve_link("mailto:a@example.com", base) is None
    # Dot segments are applied in absolute links too, as browsers do.
    assert resolve_link("https://acme.com/blog/../drills/", base) == (
        "https://acme.com/drills/",
        "acme.com",
    )


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("http://bücher.de/x", "bücher.de"),
        ("http://xn--bcher-kva.de/x", "bücher.de"),
        ("http://shop.XN--BCHER-KVA.de./x", "bücher.de"),
        ("http://xn--a-99.example/x", "xn--a-99.example"),  # no punycode: as written
    ],
)
def test_an_internationalised_domain_has_one_spelling(url: str, domain: str) -> None:
    assert registered_domain(url) == domain
    assert resolve_link(url, "https://blog.example.org/") == (url, domain)


def test_an_internationalised_target_matches_in_either_spelling() -> None:
    assert same_target("http://bücher.de/buch/", "http://www.xn--bcher-kva.de/buch")
    assert not same_target("http://bücher.de/buch/", "http://bucher.de/buch/")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # WordPress writes non-ASCII slugs in lower-case escapes; browsers in upper case.
        ("https://acme.de/akku-bohrer-%c3%bc/", "https://acme.de/akku-bohrer-%C3%BC/"),
        ("https://acme.de/akku-bohrer-%c3%bc/", "https://acme.de/akku-bohrer-ü"),
        ("https://acme.de/drill%20kit", "https://acme.de/drill kit"),
        ("https://acme.de/a/b/../c/./d", "https://acme.de/a/c/d"),
        ("https://acme.de/..", "https://acme.de/"),
        ("https://acme.de/x%2Dy%7E", "https://acme.de/x-y~"),
    ],
)
def test_one_path_however_it_is_escaped(a: str, b: str) -> None:
    assert same_target(a, b)


def test_escapes_that_change_the_path_still_count() -> None:
    assert not same_target("https://acme.de/a%2Fb", "https://acme.de/a/b")
    assert not same_target("https://acme.de/%E9t%E9", "https://acme.de/%C3%A9t%C3%A9")


def test_match_domain_ignores_www() -> None:
    assert match_domain("www.acme.test") == match_domain("acme.test") == "acme.test"
    assert match_domain("shop.acme.test") == "shop.acme.test"


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://alice.blogspot.com/2024/post.html", "alice.blogspot.com"),
        ("https://bob.github.io/", "bob.github.io"),
        ("https://www.acme.co.uk/", "acme.co.uk"),
        ("http://blogspot.com/", "blogspot.com"),
    ],
)
def test_blogs_on_shared_hosts_are_sites_of_their_own(url: str, domain: str) -> None:
    assert registered_domain(url) == domain


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mongodb://u:p@127.0.0.1/db", "mongodb://***@127.0.0.1/db"),
        ("mongodb://u:p@ss@127.0.0.1:1/", "mongodb://***@127.0.0.1:1/"),
        (
            "mongodb://u:pa/ss@127.0.0.1/db?authSource=admin",
            "mongodb://***@127.0.0.1/db?authSource=admin",
        ),
        ("http://127.0.0.1:6800/", "http://127.0.0.1:6800/"),
        ("mongodb://admin:S3cr?t@127.0.0.1:1/", "mongodb://***@127.0.0.1:1/"),
        (
            "https://hooks.example/notify?email=ops@corp.example&x=1",
            "https://hooks.example/notify?email=ops@corp.example&x=1",
        ),
        (
            "mongodb://db1/?tls=true&tlsCertificateKeyFilePassword=KeyPw&w=1",
            "mongodb://db1/?tls=true&tlsCertificateKeyFilePassword=***&w=1",
        ),
    ],
)
def test_credentials_are_hidden_whole(url: str, shown: str) -> None:
    assert hide_credentials(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "HTTP://Example.COM./a/b;p?q=1#f",
        "http://u:p@blog.example.org:8080/a",
        "http://127.0.0.1:65535/",
        "http://h:/a",  # an empty port is the default one
        "http://[::1]:8080/x/",
        "http://bücher.de/buch",
        "http://xn--bcher-kva.de/buch",
        "http://हिन्दी.भारत/",
        "http://a_b.example/",
        "http://" + "a" * 63 + ".example/",  # the longest label
        "http://" + "ü" * 57 + ".de/",  # 63 characters once encoded
        " https://example.com/padded ",
        "https://example.com/ünï?q=ä",
    ],
)
def test_valid_http_urls(url: str) -> None:
    assert http_url_problem(url) is None
    assert is_http_url(url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://files.example.com/", "not an http(s) URL"),
        ("blog.example.org/a", "not an http(s) URL"),
        ("http:no-host", "not an http(s) URL"),
        ("http://[::1/broken", "not an http(s) URL"),
        ("http://127.0.0.1:99999/a", "the port '99999' is not a number from 1 to 65535"),
        ("http://127.0.0.1:abc/a", "the port 'abc' is not a number from 1 to 65535"),
        ("http://127.0.0.1:0/a", "the port '0' is not a number from 1 to 65535"),
        ("http://h:٩/", "the port '٩' is not a number from 1 to 65535"),
        ("http://[::1]x/", "the port 'x' is not a number from 1 to 65535"),
        ("http://127.0.0.1 x:9/a", "it contains whitespace or a control character"),
        ("http://127.0.0.1:9/a\x01\nb", "it contains whitespace or a control character"),
        ("http://127.0.0.1:9/a\nb", "it contains whitespace or a control character"),
        ("http://exa\x00mple.com/", "it contains whitespace or a control character"),
        ("https://example.com/a b", "it contains whitespace or a control character"),
        ("https://example.com/a\u00a0b", "it contains whitespace or a control character"),
        ("http://a..b/", "the host 'a..b' is not valid"),
        ("http://./", "the host '.' is not valid"),
        ("http://a%20b/", "the host 'a%20b' is not valid"),
        ("http://999.1.1.1/", "the host '999.1.1.1' is not valid"),
        ("http://a<b>.example/", "the host 'a<b>.example' is not valid"),
        ("http://😀.example/", "the host '😀.example' is not valid"),
        ("http://" + "a" * 64 + ".example/", "the host 'aaaa"),
        ("http://" + "ü" * 58 + ".de/", "the host 'üüüü"),  # 64 characters once encoded
    ],
)
def test_invalid_http_urls(url: str, problem: str) -> None:
    found = http_url_problem(url)
    assert found is not None
    assert found.removeprefix("not a valid http(s) URL: ").startswith(problem)
    assert not is_http_url(url)


def test_links_are_resolved_even_where_no_request_could_be_sent() -> None:
    # A link is a fact about its page: a space or a bad port does not hide it.
    assert resolve("/a b", "https://example.com/") == "https://example.com/a b"
    assert resolve("http://example.com:99999/", "https://example.com/") == (
        "http://example.com:99999/"
    )
