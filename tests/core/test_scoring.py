from __future__ import annotations

import math
from typing import Any

import pytest

from tiercrawl.core.relevance import Relevance
from tiercrawl.core.scoring import (
    DEFAULT_WEIGHTS,
    PlacementFacts,
    Support,
    commercial_domains,
    content_offset,
    merge_weights,
    score_placement,
)
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.testing import link_document, placement_document

WEIGHTS = merge_weights()


def page(**overrides: Any) -> dict[str, Any]:
    return {
        "url": "https://blog.example.org/post",
        "status": 200,
        "error": None,
        "indexable": True,
        "indexability": [],
        "page_nofollow": False,
        "outbound_links": 4,
        **overrides,
    }


def link(**overrides: Any) -> dict[str, Any]:
    return link_document(
        "https://blog.example.org/post", "https://acme.example/drills/", 3, **overrides
    )


def placement(status: str = "live", tier: int = 1, **link_overrides: Any) -> dict[str, Any]:
    found = status in ("live", "nofollow", "not_indexable")
    return placement_document(
        tier,
        "https://blog.example.org/post",
        "https://acme.example/drills/",
        status,
        link(**link_overrides) if found else None,
    )


def facts(
    status: str = "live",
    *,
    relevance: float | None = 0.8,
    page_doc: dict[str, Any] | None = None,
    anchor_class: str | None = "partial_match",
    support: Support | None = None,
    **link_overrides: Any,
) -> PlacementFacts:
    return PlacementFacts(
        placement=placement(status, **link_overrides),
        page=page() if page_doc is None else page_doc,
        relevance=Relevance(relevance),
        anchor_class=anchor_class,
        content_offset=0.0,
        support=support,
    )


def test_relevant_content_dofollow_outranks_off_topic_footer_nofollow() -> None:
    good = score_placement(facts(), WEIGHTS)
    bad = score_placement(
        facts("nofollow", relevance=0.05, region="footer", rel=["nofollow"], nofollow=True),
        WEIGHTS,
    )
    assert good.score > 80
    assert bad.score < 45
    assert good.flags == []
    assert bad.flags == ["nofollow", "footer_link", "off_topic"]
    assert bad.components["attributes"] == 0.2
    assert bad.components["placement"] < 0.25
    assert set(good.components) == {
        "relevance",
        "placement",
        "attributes",
        "indexability",
        "anchor",
    }
    assert all(0 <= v <= 1 for v in good.components.values())


def test_live_tier2_support_raises_a_tier1_score() -> None:
    supported = score_placement(facts(support=Support(2, 2, 2, quality=1.6)), WEIGHTS)
    alone = score_placement(facts(support=Support(2, 0, 0, quality=0.0)), WEIGHTS)
    assert supported.score > alone.score
    assert supported.components["support"] == pytest.approx(1 - math.exp(-1.6 / 1.5), abs=1e-4)
    assert alone.components["support"] == 0.0
    assert "no_tier2_support" in alone.flags
    assert "2 live of 2 planned tier-2 links" in supported.explanation


def test_hidden_link_is_flagged_and_worth_little() -> None:
    hidden = score_placement(facts(hidden=True), WEIGHTS)
    assert "hidden_link" in hidden.flags
    assert hidden.components["placement"] <= 0.1


def test_earlier_content_link_and_fewer_outbound_links_place_better() -> None:
    first = PlacementFacts(placement(), page(), Relevance(0.8), "other", content_offset=0.0)
    last = PlacementFacts(placement(), page(), Relevance(0.8), "other", content_offset=1.0)
    crowded = PlacementFacts(
        placement(), page(outbound_links=90), Relevance(0.8), "other", content_offset=0.0
    )
    p_first, p_last, p_crowded = (
        score_placement(f, WEIGHTS).components["placement"] for f in (first, last, crowded)
    )
    assert p_first == 1.0
    assert p_last == pytest.approx(0.7)
    assert p_crowded == pytest.approx(0.5 + 0.5 / 3, abs=1e-3)


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [([], 1.0), (["canonicalised"], 0.4), (["noindex"], 0.0), (["canonicalised", "robots"], 0.0)],
)
def test_indexability_takes_the_worst_reason(reasons: list[str], expected: float) -> None:
    doc = page(indexable=not reasons, indexability=reasons)
    score = score_placement(facts(page_doc=doc), WEIGHTS)
    assert score.components["indexability"] == expected
    assert ("not_indexable" in score.flags) == bool(reasons)


def test_page_nofollow_counts_as_nofollow() -> None:
    score = score_placement(facts(page_doc=page(page_nofollow=True)), WEIGHTS)
    assert score.components["attributes"] == 0.2
    assert "nofollow" in score.flags


def test_sponsored_and_ugc_are_named() -> None:
    score = score_placement(facts("nofollow", rel=["sponsored"], sponsored=True), WEIGHTS)
    assert score.components["attributes"] == 0.3
    assert score.flags[:2] == ["nofollow", "sponsored"]


def test_exact_match_overuse_halves_the_anchor_component() -> None:
    plain = PlacementFacts(placement(), page(), Relevance(0.8), "exact_match")
    overused = PlacementFacts(
        placement(), page(), Relevance(0.8), "exact_match", exact_match_overuse=True
    )
    assert score_placement(plain, WEIGHTS).components["anchor"] == 0.7
    result = score_placement(overused, WEIGHTS)
    assert result.components["anchor"] == 0.35
    assert "exact_match_overuse" in result.flags


@pytest.mark.parametrize(
    ("status", "page_doc", "cap", "words"),
    [
        ("missing", page(), 10, "missing: the page was read and has no link"),
        ("page_error", page(status=404, indexable=False, indexability=["status"]), 5, "HTTP 404"),
        ("inconclusive", page(status=None, error="timeout", indexable=False), 20, "(timeout)"),
    ],
)
def test_lost_placements_score_low_with_their_flag(
    status: str, page_doc: dict[str, Any], cap: float, words: str
) -> None:
    score = score_placement(facts(status, page_doc=page_doc, anchor_class=None), WEIGHTS)
    assert score.score <= cap
    assert score.flags[0] == status
    assert score.components["placement"] == 0.0
    assert score.components["anchor"] == 0.0
    assert words in score.explanation


def test_every_found_link_outranks_every_lost_one_and_an_unread_page_sits_between() -> None:
    not_indexable = page(indexable=False, indexability=["noindex"])
    worst_found = score_placement(
        facts(
            "not_indexable",
            page_doc=not_indexable,
            relevance=0.0,
            anchor_class="empty",
            region="footer",
            hidden=True,
            rel=["nofollow"],
            nofollow=True,
        ),
        WEIGHTS,
    )
    best_missing = score_placement(facts("missing", relevance=1.0, anchor_class=None), WEIGHTS)
    unread = page(status=503, indexable=False, indexability=["status"])
    worst_unread = score_placement(
        facts("inconclusive", page_doc=unread, relevance=None, anchor_class=None), WEIGHTS
    )
    assert best_missing.score < 10.0 <= worst_found.score
    assert 10.0 <= worst_unread.score <= 20.0


def test_content_offset_finds_the_link_by_context_and_anchor() -> None:
    text = "intro words here. " * 10 + "Our pick is the Acme drill for brick. " + "more. " * 20
    offset = content_offset(text, "Our pick is the Acme drill for brick.", "Acme drill")
    assert offset == pytest.approx(text.index("Acme drill") / len(text))
    assert content_offset(text, "", "Acme drill") == offset
    assert content_offset(text, "not in the text", "absent anchor") is None
    assert content_offset("", "x", "y") is None


def test_link_farm_by_outbound_count_or_commercial_domains() -> None:
    assert "link_farm" in score_placement(facts(page_doc=page(outbound_links=150)), WEIGHTS).flags
    spam = [
        {"external": True, "domain": f"shop{i}.example", "anchor_text": f"buy cheap pills {i}"}
        for i in range(12)
    ]
    spam.append({"external": True, "domain": "news.example", "anchor_text": "the news"})
    assert commercial_domains(spam) == 12
    farm = PlacementFacts(placement(), page(), Relevance(0.8), "other", commercial_domains=12)
    assert "link_farm" in score_placement(farm, WEIGHTS).flags


def test_commercial_domains_counts_whole_words_of_external_links_by_domain() -> None:
    links = [
        {"external": True, "domain": "a.example", "anchor_text": "Shopping guide"},
        {"external": True, "domain": "b.example", "anchor_text": "BUY now"},
        {"external": True, "domain": "b.example", "anchor_text": "cheap"},
        {"external": False, "domain": "own.example", "anchor_text": "cheap deals"},
        {"external": True, "domain": None, "anchor_text": "casino"},
        {"external": True, "domain": "c.example", "anchor_text": None},
        {"external": True, "domain": "d.example", "anchor_text": "Payday-loans"},
    ]
    assert commercial_domains(links) == 2  # b.example, d.example
    assert commercial_domains(links[:1] + links[3:4]) == 0
    assert commercial_domains([]) == 0


def test_weights_override_changes_the_order() -> None:
    relevant_nofollow = facts("nofollow", relevance=1.0, rel=["nofollow"], nofollow=True)
    off_topic_dofollow = facts(relevance=0.1)
    relevance_only = merge_weights(
        {"placement": 0, "attributes": 0, "indexability": 0}, {"anchor": 0}
    )
    assert score_placement(relevant_nofollow, WEIGHTS).score < (
        score_placement(off_topic_dofollow, WEIGHTS).score
    )
    # The nofollow gate still applies: 100 * (0.5 + 0.5 * 0.2) = 60, in the found band 10-100.
    assert score_placement(relevant_nofollow, relevance_only).score == 64.0
    assert score_placement(off_topic_dofollow, relevance_only).score == 19.0


def test_merge_weights_reports_every_problem() -> None:
    with pytest.raises(TiercrawlError) as info:
        merge_weights({"relevance": "high", "speed": 3, "anchor": -1})
    assert info.value.problems == [
        "weights: relevance must be a number, not 'high'",
        (
            "weights: unknown component 'speed' (known: relevance, placement, attributes, "
            "indexability, anchor, support)"
        ),
        "weights: anchor must be between 0 and 1000, not -1",
    ]
    with pytest.raises(TiercrawlError, match="at least one component"):
        merge_weights(dict.fromkeys(DEFAULT_WEIGHTS, 0))


def test_explanation_of_a_found_link_is_one_line() -> None:
    score = score_placement(facts(anchor_text="cordless\n drills"), WEIGHTS)
    assert score.explanation == (
        'live: content link, dofollow, partial-match anchor "cordless drills", relevance 0.80'
    )


def test_a_number_yaml_read_as_text_gets_a_hint() -> None:
    with pytest.raises(TiercrawlError) as info:
        merge_weights({"relevance": "1e3"})
    hint = "(YAML reads 1e3 as text: write 1000 or 1.0e+03)"
    assert info.value.problems == [f"weights: relevance must be a number, not '1e3' {hint}"]


def test_a_number_too_large_for_a_weight_gets_no_hint_to_write_inf() -> None:
    with pytest.raises(TiercrawlError) as info:
        merge_weights({"support": "1e400"})
    assert info.value.problems == ["weights: support must be a number, not '1e400'"]


@pytest.mark.parametrize(
    ("status", "moved", "flag", "words"),
    [
        (
            "missing",
            "https://blog.example.org/",
            "redirected_home",
            (
                "the page redirects to its site's home page https://blog.example.org/: "
                "the post is likely gone"
            ),
        ),
        (
            "live",
            "https://blog.example.org/2026/post",
            "page_moved",
            "the page moved to https://blog.example.org/2026/post",
        ),
    ],
)
def test_a_moved_page_is_flagged_and_explained_without_changing_the_score(
    status: str, moved: str, flag: str, words: str
) -> None:
    unmoved = facts(status, anchor_class=None)
    moved_facts = PlacementFacts(
        placement={**unmoved.placement, "moved_to": moved},
        page=unmoved.page,
        relevance=unmoved.relevance,
        content_offset=0.0,
    )
    before, after = score_placement(unmoved, WEIGHTS), score_placement(moved_facts, WEIGHTS)
    assert flag in after.flags
    assert flag not in before.flags
    assert words in after.explanation
    assert after.score == before.score
