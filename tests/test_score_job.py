from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.web import TestWeb
from tiercrawl.cli import main
from tiercrawl.core.campaign import campaign_from_dict
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.jobs.score import score_run
from tiercrawl.store import Store
from tiercrawl.testing import insert_finished_run, link_document, placement_document

MONEY = "https://www.acme.example/drills/"
DRILL_TEXT = (
    "We tested twelve cordless drills on brick, hardwood and steel. The best cordless drill "
    "has a brushless motor, two batteries and a clutch that never slips; power drills with "
    "a hammer mode handle masonry."
)
RECIPE_TEXT = (
    "Slow-cooked tomato sauce with basil, garlic and olive oil: a recipe for pasta, pizza and "
    "lasagne that keeps a week in the fridge."
)
FORUM_TEXT = "Which cordless drill should I buy? This review of drills helped me choose."
TARGET_TEXT = (
    "Acme cordless drills and power drills: brushless motors, two batteries, a hammer mode "
    "for masonry and a clutch with twenty settings."
)
CAMPAIGN = {
    "name": "acme",
    "money_site": "https://www.acme.example/",
    "brand": ["Acme"],
    "keywords": ["cordless drill", "power drill"],
    "tier1": [
        {"url": "https://blog.example.org/drills", "target": MONEY},
        {"url": "https://twin.example.net/drills", "target": MONEY},
        {"url": "https://food.example.com/sauce", "target": MONEY},
        {"url": "https://gone.example.com/post", "target": MONEY},
    ],
    "tier2": [
        {"url": "https://forum.example.net/t/1", "target": "https://blog.example.org/drills"},
        {"url": "https://forum.example.net/t/2", "target": "https://blog.example.org/drills"},
    ],
}


class RunBuilder:
    """Stored documents of one finished run, shaped as the crawl writes them."""

    def __init__(self, store: Store, run_id: str = "run-1", age: int = 0) -> None:
        self.store, self.run_id = store, run_id
        started = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=10 - age)
        insert_finished_run(store, run_id, "acme", started)

    def page(self, url: str, tier: int, text: str, **fields: Any) -> None:
        doc = {
            "run_id": self.run_id,
            "campaign": "acme",
            "url": url,
            "final_url": url,
            "tier": tier,
            "status": 200,
            "error": None,
            "indexable": True,
            "indexability": [],
            "page_nofollow": False,
            "outbound_links": 3,
            "title": text.split(":")[0][:40],
            "main_text": text,
            **fields,
        }
        self.store.pages.insert_one(doc)

    def link(self, source: str, target: str, position: int, **fields: Any) -> dict[str, Any]:
        doc = {
            "run_id": self.run_id,
            "campaign": "acme",
            **link_document(
                source,
                target,
                position,
                **{"context": "the best cordless drills for brick and steel", **fields},
            ),
        }
        self.store.links.insert_one(dict(doc))
        doc.pop("_id", None)
        return doc

    def placement(
        self, tier: int, url: str, target: str, status: str, link: dict[str, Any] | None
    ) -> None:
        self.store.placements.insert_one(
            {
                "run_id": self.run_id,
                "campaign": "acme",
                **placement_document(tier, url, target, status, link),
            }
        )


def build_run(store: Store, run_id: str = "run-1", age: int = 0) -> RunBuilder:
    run = RunBuilder(store, run_id, age)
    blog, twin = "https://blog.example.org/drills", "https://twin.example.net/drills"
    food, gone = "https://food.example.com/sauce", "https://gone.example.com/post"
    run.page(MONEY, 0, TARGET_TEXT)
    for url in (blog, twin):
        run.page(url, 1, DRILL_TEXT)
        run.placement(1, url, MONEY, "live", run.link(url, MONEY, 2))
    run.page(food, 1, RECIPE_TEXT)
    footer = run.link(
        food,
        MONEY,
        9,
        region="footer",
        rel=["nofollow"],
        nofollow=True,
        anchor_text="Acme",
        context="About - Sponsored by Acme",
    )
    run.placement(1, food, MONEY, "nofollow", footer)
    run.page(gone, 1, "Not found", status=404, indexable=False, indexability=["status"])
    run.placement(1, gone, MONEY, "page_error", None)
    t1, t2 = "https://forum.example.net/t/1", "https://forum.example.net/t/2"
    run.page(t1, 2, FORUM_TEXT)
    run.placement(2, t1, blog, "live", run.link(t1, blog, 1, anchor_text="this review"))
    run.page(t2, 2, FORUM_TEXT)
    run.placement(2, t2, blog, "missing", None)
    return run


@pytest.fixture
def scored(store: Store) -> dict[str, dict[str, Any]]:
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    build_run(store)
    summary = score_run(store, "acme")
    assert summary.scored == 6
    return {doc["url"]: doc for doc in store.scores.find({"run_id": "run-1"}, {"_id": 0})}


def test_relevant_content_link_outranks_off_topic_footer_nofollow(
    scored: dict[str, dict[str, Any]],
) -> None:
    good, bad = scored["https://blog.example.org/drills"], scored["https://food.example.com/sauce"]
    assert good["score"] > bad["score"] + 30
    assert good["components"]["relevance"] > 0.7
    assert bad["components"]["relevance"] < 0.2
    assert {"nofollow", "footer_link", "off_topic"} <= set(bad["flags"])
    # Two of the three found tier-1 anchors are exact-match keywords: too few for a profile.
    assert good["flags"] == []
    assert good["anchor_class"] == "exact_match"
    assert bad["anchor_class"] == "branded"


def test_tier1_with_live_tier2_support_outranks_the_same_without(
    scored: dict[str, dict[str, Any]],
) -> None:
    supported = scored["https://blog.example.org/drills"]
    alone = scored["https://twin.example.net/drills"]
    assert supported["support"] == {"planned": 2, "found": 1, "live": 1}
    assert alone["support"] == {"planned": 0, "found": 0, "live": 0}
    assert supported["components"]["support"] > 0.2
    assert alone["components"]["support"] == 0.0
    assert supported["score"] > alone["score"]
    assert "no_tier2_support" in alone["flags"]
    assert "support" not in scored["https://forum.example.net/t/1"]["components"]


def test_a_tier2_link_on_an_unread_page_is_no_support(store: Store) -> None:
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    run = RunBuilder(store)
    blog, busy = "https://blog.example.org/drills", "https://forum.example.net/t/9"
    run.page(MONEY, 0, TARGET_TEXT)
    run.page(blog, 1, DRILL_TEXT)
    run.placement(1, blog, MONEY, "live", run.link(blog, MONEY, 2))
    run.page(busy, 2, FORUM_TEXT, status=503, indexable=False, indexability=["status"])
    run.placement(2, busy, blog, "inconclusive", run.link(busy, blog, 1))
    score_run(store, "acme")
    tier1 = store.scores.find_one({"run_id": "run-1", "url": blog})
    assert tier1 is not None
    assert tier1["support"] == {"planned": 1, "found": 0, "live": 0}
    assert "no_tier2_support" in tier1["flags"]


def test_lost_placements_score_low_and_say_why(scored: dict[str, dict[str, Any]]) -> None:
    gone = scored["https://gone.example.com/post"]
    assert gone["score"] <= 5
    assert gone["flags"][0] == "page_error"
    assert gone["explanation"].startswith("page error (HTTP 404)")
    # "Not found" is no topic: relevance unknown, not 0 for missing the keywords.
    assert gone["components"]["relevance"] == 0.5
    missing = scored["https://forum.example.net/t/2"]
    assert missing["score"] <= 10
    assert "missing" in missing["flags"]


def test_documents_carry_the_contract_fields(scored: dict[str, dict[str, Any]]) -> None:
    doc = scored["https://blog.example.org/drills"]
    assert {"run_id", "campaign", "tier", "url", "target", "score", "components", "flags"} <= set(
        doc
    )
    assert doc["campaign"] == "acme"
    assert doc["target"] == MONEY
    assert 0 <= doc["score"] <= 100
    assert isinstance(doc["explanation"], str)
    assert "\n" not in doc["explanation"]


def test_scoring_again_replaces_and_records_the_run(store: Store) -> None:
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    build_run(store)
    first = score_run(store, "acme")
    second = score_run(store, "acme")
    assert store.scores.count_documents({}) == 6
    assert first.mean_by_tier == second.mean_by_tier
    scoring = store.runs.find_one({"_id": "run-1"})["scoring"]
    assert scoring["scores"] == 6
    assert scoring["relevance_method"] == "tfidf-cosine"
    assert scoring["anchors"]["1"]["counts"]["exact_match"] == 2
    # 2 of 3 found tier-1 anchors are exact-match keywords: too few links for a profile.
    assert scoring["anchors"]["1"]["exact_match_overuse"] is False


def test_a_tier_whose_anchors_are_mostly_exact_match_is_flagged(store: Store) -> None:
    run = build_run(store)
    for n in range(8):  # 11 found tier-1 links, 10 of them "cordless drills"
        url = f"https://more{n}.example.net/drills"
        run.page(url, 1, DRILL_TEXT)
        run.placement(1, url, MONEY, "live", run.link(url, MONEY, 2))
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    score_run(store, "acme")
    anchors = store.runs.find_one({"_id": "run-1"})["scoring"]["anchors"]["1"]
    assert (anchors["counts"]["exact_match"], anchors["exact_match_overuse"]) == (10, True)
    blog = store.scores.find_one({"url": "https://blog.example.org/drills"})
    food = store.scores.find_one({"url": "https://food.example.com/sauce"})
    assert "exact_match_overuse" in blog["flags"]
    assert "exact_match_overuse" not in food["flags"]  # branded


def test_a_tier1_page_whose_tier2_anchors_are_mostly_exact_match_is_flagged(
    store: Store,
) -> None:
    """Each tier-1 page's tier-2 links are its own profile: varied anchors to the other
    pages do not hide one page whose every tier-2 link is a keyword."""
    run = build_run(store)
    blog, twin = "https://blog.example.org/drills", "https://twin.example.net/drills"
    pages = [(twin, f"https://spin{n}.example.net/t", "cordless drills") for n in range(10)]
    pages += [(blog, f"https://talk{n}.example.net/t", "this review") for n in range(30)]
    pages.append((blog, "https://talk-exact.example.net/t", "power drills"))
    for target, url, anchor_text in pages:
        run.page(url, 2, FORUM_TEXT)
        link = run.link(url, target, 1, anchor_text=anchor_text)
        run.placement(2, url, target, "live", link)
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    score_run(store, "acme")
    anchors = store.runs.find_one({"_id": "run-1"})["scoring"]["anchors"]["2"]
    # 11 exact-match anchors of 42 found tier-2 links: 26 %, not overuse for the tier.
    assert (anchors["counts"]["exact_match"], anchors["exact_match_overuse"]) == (11, False)
    assert anchors["overused_pages"] == [{"target": twin, "exact_match": 10, "found": 10}]
    flagged = store.scores.find_one({"url": "https://spin0.example.net/t"})
    assert "exact_match_overuse" in flagged["flags"]
    to_blog = store.scores.find_one({"url": "https://talk-exact.example.net/t"})
    assert to_blog["anchor_class"] == "exact_match"
    assert "exact_match_overuse" not in to_blog["flags"]


def test_latest_finished_run_is_scored(store: Store) -> None:
    build_run(store, "old", age=5)
    build_run(store, "new", age=0)
    store.runs.insert_one(
        {
            "_id": "running",
            "campaign": "acme",
            "status": "running",
            "started_at": datetime.now(UTC),
        }
    )
    # The newest run is still running (a sharded run, say): refuse rather than score an old one.
    with pytest.raises(TiercrawlError, match="run running is still running"):
        score_run(store, "acme")
    with pytest.raises(TiercrawlError, match="is running, not finished"):
        score_run(store, "acme", run_id="running")
    assert score_run(store, "acme", run_id="new").run_id == "new"
    # A recent heartbeat: the crawl is alive, still refused.
    beat = {"heartbeat_at": datetime.now(UTC), "heartbeat_interval": 60.0}
    store.runs.update_one({"_id": "running"}, {"$set": beat})
    with pytest.raises(TiercrawlError, match="run running is still running"):
        score_run(store, "acme")
    # Its heartbeat stopped 10 intervals ago: its process is gone, the run failed.
    stale = datetime.now(UTC) - timedelta(seconds=601)
    store.runs.update_one(
        {"_id": "running"}, {"$set": {"heartbeat_at": stale, "heartbeat_interval": 60.0}}
    )
    assert score_run(store, "acme").run_id == "new"
    abandoned = store.runs.find_one({"_id": "running"})
    assert abandoned["status"] == "failed"
    assert abandoned["close_reason"].startswith("abandoned: no heartbeat since ")
    # A newer recheck run covers only some placements: it is never the run scored.
    store.runs.insert_one(
        {
            "_id": "recheck",
            "campaign": "acme",
            "status": "finished",
            "recheck_of": "new",
            "started_at": datetime.now(UTC),
        }
    )
    assert score_run(store, "acme").run_id == "new"
    assert store.scores.count_documents({"run_id": "old"}) == 0


def test_weights_override_and_stored_weights(store: Store) -> None:
    build_run(store)
    url = "https://food.example.com/sauce"
    score_run(store, "acme")
    default = store.scores.find_one({"url": url})["score"]
    score_run(store, "acme", weights={"relevance": 0, "support": 0})
    overridden = store.scores.find_one({"url": url})["score"]
    assert overridden > default
    store.campaigns.insert_one(
        {"name": "acme", "campaign": CAMPAIGN, "score_weights": {"relevance": 0}}
    )
    score_run(store, "acme")
    assert store.runs.find_one({"_id": "run-1"})["scoring"]["weights"]["relevance"] == 0


def test_cli_scores_with_a_campaign_file(
    store: Store, mongo_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_run(store)
    campaign = tmp_path / "acme.yaml"
    campaign.write_text(
        "name: acme\nmoney_site: https://www.acme.example/\nbrand: [Acme]\n"
        "keywords: [cordless drill]\ntier1:\n"
        f"  - url: https://blog.example.org/drills\n    target: {MONEY}\n",
        encoding="utf-8",
    )
    weights = tmp_path / "w.json"
    weights.write_text('{"support": 0}', encoding="utf-8")
    code = main(
        [
            *("score", "acme", "--mongo-uri", mongo_uri),
            *("--campaign-file", str(campaign), "--weights", str(weights)),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("run run-1: 6 placements scored (average tier 1 ")
    assert "1 page_error" in out
    assert store.runs.find_one({"_id": "run-1"})["scoring"]["keywords"] == ["cordless drill"]


def test_cli_refuses_without_a_finished_run_or_with_bad_weights(
    mongo_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "nothing", "--mongo-uri", mongo_uri]) == 1
    assert "no finished run to score: run `tiercrawl crawl` first" in capsys.readouterr().err
    bad = tmp_path / "w.yaml"
    bad.write_text("relevance: lots\nspeed: 1\n", encoding="utf-8")
    assert main(["score", "nothing", "--mongo-uri", mongo_uri, "--weights", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "tiercrawl score: weights: relevance must be a number, not 'lots'",
        (
            "tiercrawl score: weights: unknown component 'speed' (known: relevance, placement, "
            "attributes, indexability, anchor, support)"
        ),
    ]
    assert main(["score", "x", "--mongo-uri", mongo_uri, "--save-weights"]) == 2


def test_scoring_a_real_crawl_of_the_test_web(
    crawled_web: tuple[Store, str], web: TestWeb
) -> None:
    store, run_id = crawled_web
    campaign = campaign_from_dict(yaml.safe_load(web.campaign_yaml()))
    # No campaign file given: brand and keywords come from the campaign as the run crawled it.
    summary = score_run(store, "test-web", run_id=run_id)
    assert summary.keywords_known
    assert summary.scored == len(campaign.entries())
    scores = {(doc["tier"], doc["url"]): doc for doc in store.scores.find({"run_id": run_id})}
    blog, forum = web.blog.base, web.forum.base
    best = scores[(1, f"{blog}/best-drills")]
    nofollow = scores[(1, f"{blog}/nofollow-post")]
    assert best["status"] == "live"
    assert best["region"] == "content"
    assert best["support"]["live"] == 1
    assert best["components"]["relevance"] > 0.5
    assert nofollow["status"] == "nofollow"
    assert "nofollow" in nofollow["flags"]
    assert best["score"] > nofollow["score"] + 20
    assert "page_error" in scores[(1, f"{blog}/gone")]["flags"]
    assert scores[(1, f"{blog}/gone")]["score"] <= 5
    assert "missing" in scores[(2, f"{forum}/t/2")]["flags"]
    assert "inconclusive" in scores[(1, f"{blog}/busy")]["flags"]
    assert "not_indexable" in scores[(1, f"{blog}/noindex-post")]["flags"]


def test_save_weights_keeps_them_only_once_a_run_is_scored(
    store: Store, mongo_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    build_run(store)
    weights = tmp_path / "w.json"
    weights.write_text('{"support": 0}', encoding="utf-8")
    score = ["score", "acme", "--mongo-uri", mongo_uri, "--weights", str(weights)]
    assert main([*score, "--save-weights", "--run", "nope"]) == 1
    assert "score_weights" not in store.campaigns.find_one({"name": "acme"})
    assert main([*score, "--save-weights"]) == 0
    assert store.campaigns.find_one({"name": "acme"})["score_weights"] == {"support": 0}
    capsys.readouterr()


def test_a_target_that_is_not_found_counts_as_a_target_never_read(store: Store) -> None:
    # The tier-1 page is a 404: its "Not found" says nothing of its topic.
    run = build_run(store)
    gone, unread = "https://gone.example.com/post", "https://unread.example.com/post"
    t3, t4 = "https://forum.example.net/t/3", "https://forum.example.net/t/4"
    for page, target in ((t3, gone), (t4, unread)):
        run.page(page, 2, FORUM_TEXT)
        run.placement(2, page, target, "live", run.link(page, target, 1, anchor_text="this post"))
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    score_run(store, "acme")
    to_gone = store.scores.find_one({"run_id": "run-1", "url": t3})
    to_unread = store.scores.find_one({"run_id": "run-1", "url": t4})
    assert to_gone is not None
    assert to_unread is not None
    assert "off_topic" not in to_gone["flags"]
    assert to_gone["components"]["relevance"] == to_unread["components"]["relevance"]
