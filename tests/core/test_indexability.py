from __future__ import annotations

from typing import Any

import pytest

from tiercrawl.core.indexability import assess, page_nofollow, robots_tokens, x_robots_tokens


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("NOINDEX, nofollow", ["noindex", "nofollow"]),
        ("index,follow", ["index", "follow"]),
        (" none ", ["none"]),
        ("noindex nofollow", ["noindex", "nofollow"]),
        ("noindex, noindex", ["noindex"]),
        ("max-snippet:20, max-image-preview: large", ["max-snippet", "max-image-preview"]),
        ("", []),
        (",,", []),
    ],
)
def test_robots_tokens(content: str, expected: list[str]) -> None:
    assert robots_tokens(content) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noindex"], ["noindex"]),
        (["NoIndex, NoFollow"], ["noindex", "nofollow"]),
        (["googlebot: noindex"], ["noindex"]),
        (["GoogleBot: noindex, nofollow"], ["noindex", "nofollow"]),
        (["googlebot: noindex nofollow"], ["noindex", "nofollow"]),
        (["otherbot: noindex nofollow"], []),
        (["otherbot: noindex, nofollow"], []),
        (["otherbot: noindex", "nofollow"], ["nofollow"]),
        (["googlebot-news: noindex"], []),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], ["unavailable_after"]),
        (
            ["unavailable_after: Friday, 25-Jun-2010 15:00:00 GMT, noarchive"],
            ["unavailable_after", "noarchive"],
        ),
        (["none"], ["none"]),
        ([], []),
    ],
)
def test_x_robots_tokens(values: list[str], expected: list[str]) -> None:
    assert x_robots_tokens(values) == expected


def test_x_robots_tokens_for_another_bot() -> None:
    values = ["googlebot: noindex", "bingbot: nofollow"]
    assert x_robots_tokens(values, bot="BingBot") == ["nofollow"]


def _assess(**changes: Any) -> tuple[bool, list[str]]:
    facts: dict[str, Any] = {
        "status": 200,
        "error": None,
        "robots_allowed": True,
        "meta_robots": [],
        "x_robots_tag": [],
        "canonical": None,
        "final_url": "https://blog.example.org/post",
    }
    facts.update(changes)
    return assess(**facts)


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        ({}, []),
        ({"status": 204}, []),
        ({"status": 404}, ["status"]),
        ({"status": 301}, ["status"]),
        ({"status": 503}, ["status"]),
        ({"status": None, "error": "timeout"}, ["error"]),
        ({"status": None}, ["status"]),
        ({"status": 200, "error": "not_html"}, []),
        ({"robots_allowed": False, "status": None, "error": "robots"}, ["error", "robots"]),
        ({"meta_robots": ["noindex"]}, ["noindex"]),
        ({"meta_robots": ["none"]}, ["noindex"]),
        ({"x_robots_tag": ["noindex"]}, ["noindex"]),
        ({"x_robots_tag": ["none"]}, ["noindex"]),
        ({"meta_robots": ["nofollow", "noarchive"]}, []),
        ({"meta_robots": ["unavailable_after"]}, []),
        ({"canonical": "https://blog.example.org/other"}, ["canonicalised"]),
        ({"canonical": "https://blog.example.org/post"}, []),
        ({"canonical": "HTTPS://WWW.blog.example.org/post/?utm_source=x#top"}, []),
        ({"canonical": "https://blog.example.org/post?page=2"}, ["canonicalised"]),
        # Itself, with other escapes: WordPress writes lower-case ones, Scrapy upper-case.
        (
            {
                "canonical": "https://blog.example.org/f%c3%bcr-profis/",
                "final_url": "https://blog.example.org/f%C3%BCr-profis/",
            },
            [],
        ),
        ({"canonical": "https://blog.example.org/other", "final_url": None}, []),
        (
            {"status": 410, "meta_robots": ["noindex"], "canonical": "https://x.example/"},
            ["status", "noindex", "canonicalised"],
        ),
    ],
)
def test_assess(changes: dict[str, Any], reasons: list[str]) -> None:
    assert _assess(**changes) == (not reasons, reasons)


@pytest.mark.parametrize(
    ("meta", "header", "expected"),
    [
        ([], [], False),
        (["nofollow"], [], True),
        ([], ["nofollow"], True),
        (["none"], [], True),
        ([], ["none"], True),
        (["noindex"], ["noarchive"], False),
    ],
)
def test_page_nofollow(meta: list[str], header: list[str], expected: bool) -> None:
    assert page_nofollow(meta, header) is expected
