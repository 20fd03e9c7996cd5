from __future__ import annotations

import pytest

from tiercrawl.core.relevance import (
    COSINE_FLOOR,
    COSINE_FULL,
    Relevance,
    TfidfIndex,
    calibrate,
    cosine,
    placement_relevance,
    tokens,
)

DRILLS = (
    "Cordless drills reviewed: brushless motors, battery life, clutch settings and torque "
    "for drilling brick, hardwood and steel. The best cordless drill for most people."
)
TARGET = (
    "Acme cordless drills and power drills: brushless motors, two batteries, a hammer mode "
    "for masonry and a clutch with twenty settings."
)
RECIPES = (
    "Slow-cooked tomato sauce with basil, garlic and olive oil: a recipe for pasta, pizza "
    "and lasagne that keeps a week in the fridge."
)
GARDEN = "Planting tulip bulbs in autumn: soil, depth, spacing and watering for spring flowers."


@pytest.fixture
def index() -> TfidfIndex:
    return TfidfIndex([DRILLS, TARGET, RECIPES, GARDEN])


def test_tokens_fold_case_plurals_and_drop_stopwords() -> None:
    counts = tokens("The Drills, the drill and THESE batteries; 42 x")
    assert counts == {"drill": 2, "battery": 1}


def test_vectors_are_unit_length(index: TfidfIndex) -> None:
    vector = index.vector(DRILLS)
    assert sum(w * w for w in vector.values()) == pytest.approx(1.0)
    assert index.vector("") == {}


def test_same_topic_is_closer_than_another_topic(index: TfidfIndex) -> None:
    target = index.vector(TARGET)
    assert cosine(index.vector(DRILLS), target) > 0.2
    assert cosine(index.vector(RECIPES), target) == 0.0
    assert cosine(index.vector(DRILLS), target) > cosine(index.vector(GARDEN), target)


def test_calibrate_is_linear_between_floor_and_full() -> None:
    assert calibrate(0.0) == 0.0
    assert calibrate(COSINE_FLOOR) == 0.0
    assert calibrate(COSINE_FULL) == 1.0
    assert calibrate(0.9) == 1.0
    assert calibrate((COSINE_FLOOR + COSINE_FULL) / 2) == pytest.approx(0.5)


def test_relevant_placement_outranks_off_topic(index: TfidfIndex) -> None:
    keywords = ["cordless drill", "power drill"]
    good = placement_relevance(
        index,
        page_text=DRILLS,
        context="the best cordless drill for most people",
        target_text=TARGET,
        keywords=keywords,
    )
    bad = placement_relevance(
        index, page_text=RECIPES, context="sauce recipe", target_text=TARGET, keywords=keywords
    )
    assert good.value is not None
    assert bad.value is not None
    assert good.value > 0.7
    assert bad.value == 0.0
    # "cordless" and "drill" are on the page, "power" is not.
    assert good.keywords == pytest.approx(2 / 3)


def test_keyword_coverage_counts_words_of_all_keywords(index: TfidfIndex) -> None:
    relevance = placement_relevance(index, page_text="a cordless drill", keywords=["power drill"])
    # "power drill" has two words, one of which ("drill") is on the page.
    assert relevance.keywords == pytest.approx(0.5)
    assert relevance.page_target is None
    assert relevance.value == pytest.approx(0.5)


def test_no_signal_is_unknown(index: TfidfIndex) -> None:
    assert placement_relevance(index, page_text=DRILLS).value is None


def test_a_page_without_text_has_unknown_relevance_not_zero(index: TfidfIndex) -> None:
    relevance = placement_relevance(index, page_text="", keywords=["cordless drill"])
    assert relevance.value is None


def test_the_anchor_is_no_sign_of_the_page_topic(index: TfidfIndex) -> None:
    anchor = "cordless drill"

    def linking(page_text: str) -> Relevance:
        return placement_relevance(
            index,
            page_text=f"{page_text} Buy a {anchor}.",
            context=f"Buy a {anchor}.",
            anchor=anchor,
            target_text=TARGET,
            keywords=[anchor],
        )

    # A recipe whose only drill words are the link's anchor: off topic all the same.
    recipe = linking(RECIPES)
    assert (recipe.keywords, recipe.page_target, recipe.value) == (0.0, 0.0, 0.0)
    # Taken out once only: a page about drills keeps the words it uses besides the anchor.
    review = linking(DRILLS)
    assert review.keywords == 1.0
    assert review.value is not None
    assert review.value > 0.7
