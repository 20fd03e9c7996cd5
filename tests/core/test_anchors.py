from __future__ import annotations

import pytest

from tiercrawl.core.anchors import (
    ANCHOR_CLASSES,
    anchor_distribution,
    classify_anchor,
)

KEYWORDS = ["cordless drill", "power drill"]
BRAND = ["Acme", "Acme Tools"]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("cordless drill", "text", "exact_match"),
        ("Cordless Drills", "text", "exact_match"),
        ("  power   drill ", "text", "exact_match"),
        ("the best cordless drill for brick", "text", "partial_match"),
        ("drill reviews", "text", "partial_match"),
        ("cordless screwdrivers", "text", "partial_match"),
        ("Acme", "text", "branded"),
        ("Acme cordless drills", "text", "branded"),
        ("acme tools store", "text", "branded"),
        ("https://www.acme.example/drills/", "text", "naked_url"),
        ("acme-tools.co.uk", "text", "naked_url"),
        ("acme.example/drills", "text", "naked_url"),
        ("http://192.0.2.7/drills", "text", "naked_url"),
        # A dot is no domain: no public suffix, no www., no path.
        ("Node.js", "text", "other"),
        ("Dr.Oetker", "text", "other"),
        ("www.acme.example", "text", "naked_url"),
        ("click here", "text", "generic"),
        ("Read more", "text", "generic"),
        ("website", "text", "generic"),
        ("this article", "text", "generic"),
        ("hier klicken", "text", "generic"),
        ("Haga clic aquí", "text", "generic"),
        ("plus d'infos", "text", "generic"),
        ("lees meer", "text", "generic"),
        # Accents, soft hyphens and trademark signs are not what a searcher types.
        ("Cörd\u00adless Drílls", "text", "exact_match"),
        ("Acme™ drills", "text", "branded"),
        ("gardening tips for spring", "text", "other"),
        # An image's alt text is its anchor: keywords and brands count as in text.
        ("Photo of a workshop", "image", "image"),
        ("Cordless drill", "image", "exact_match"),
        ("our new cordless drill", "image", "partial_match"),
        ("Acme drill photo", "image", "branded"),
        ("Click here", "image", "generic"),
        ("", "image", "empty"),
        ("", "empty", "empty"),
        ("   ", "text", "empty"),
        (None, "text", "empty"),
        ("…", "text", "empty"),
    ],
)
def test_classify_anchor(text: str | None, kind: str, expected: str) -> None:
    assert classify_anchor(text, kind=kind, keywords=KEYWORDS, brand=BRAND) == expected


@pytest.mark.parametrize(
    ("text", "keyword", "expected"),
    [
        ("taladro inalambrico", "taladro inalámbrico", "exact_match"),
        ("hoodies", "hoodie", "exact_match"),
        # A generic anchor sharing a word with a keyword is still generic.
        ("learn more", "learn guitar", "generic"),
        ("this website", "website builder", "generic"),
    ],
)
def test_anchors_against_other_keywords(text: str, keyword: str, expected: str) -> None:
    assert classify_anchor(text, keywords=[keyword], brand=BRAND) == expected


def test_without_keywords_or_brand_keyword_anchors_are_other() -> None:
    assert classify_anchor("cordless drill") == "other"
    assert classify_anchor("Acme") == "other"


def test_brand_needs_whole_words() -> None:
    # "Acme" inside "Acmeology" is no brand mention.
    assert classify_anchor("Acmeology news", brand=BRAND) == "other"


def test_distribution_counts_every_class_and_flags_overuse() -> None:
    dist = anchor_distribution(["exact_match"] * 5 + ["branded"] * 4 + ["other"])
    assert list(dist.counts) == list(ANCHOR_CLASSES)
    assert dist.counts["exact_match"] == 5
    assert dist.counts["generic"] == 0
    assert dist.total == 10
    assert dist.share("exact_match") == 0.5
    assert dist.exact_match_overuse


@pytest.mark.parametrize("classes", [["exact_match"], ["exact_match"] * 2 + ["branded"]])
def test_too_few_links_are_no_profile(classes: list[str]) -> None:
    # 1 of 1 is 100 %, 2 of 3 is 67 %: neither says how the profile was built.
    dist = anchor_distribution(classes)
    assert dist.share("exact_match") > 0.3
    assert not dist.exact_match_overuse
    assert anchor_distribution(classes, min_links=1).exact_match_overuse


def test_distribution_at_threshold_is_not_overuse() -> None:
    dist = anchor_distribution(["exact_match"] * 3 + ["branded"] * 7)
    assert dist.share("exact_match") == pytest.approx(0.3)
    assert not dist.exact_match_overuse
    assert anchor_distribution(
        ["exact_match"] * 3 + ["branded"] * 7, threshold=0.2
    ).exact_match_overuse


def test_empty_distribution() -> None:
    dist = anchor_distribution([])
    assert dist.total == 0
    assert dist.share("exact_match") == 0.0
    assert not dist.exact_match_overuse
