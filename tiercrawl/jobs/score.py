"""The scoring job: one ``scores`` document per placement of a campaign's run.

Reads the run's ``placements`` and ``pages`` in two bulk queries (each
placement carries its best link, and each page its link-farm counts, so the
run's ``links`` are never read),
scores tier-2 placements first (a tier-1 page's support is the quality of its
tier-2 links), and upserts the scores keyed by ``(run_id, tier, url, target)``,
so running it again replaces rather than duplicates. Safe to run from cron or
after a Scrapyd run: it only reads a finished run and writes its scores.

Campaign brand and keywords come from the stored campaign (``campaigns``
collection) or a campaign file; weights from ``DEFAULT_WEIGHTS``, then the
stored campaign's ``score_weights``, then the caller's override.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tiercrawl.core.anchors import AnchorDistribution, anchor_distribution, classify_anchor
from tiercrawl.core.campaign import DEAL_FIELDS, campaign_from_dict
from tiercrawl.core.relevance import Relevance, TfidfIndex, Vector, placement_relevance, tokens
from tiercrawl.core.scoring import (
    STATUS_BANDS,
    PlacementFacts,
    Score,
    Support,
    content_offset,
    merge_weights,
    score_placement,
)
from tiercrawl.core.urls import match_key
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.jobs.runs import fail_abandoned

if TYPE_CHECKING:
    from tiercrawl.core.campaign import Campaign
    from tiercrawl.store import Store

__all__ = ["RELEVANCE_METHOD", "ScoreSummary", "load_terms", "score_run", "stored_weights"]

RELEVANCE_METHOD = "tfidf-cosine"
SCORE_KEY = ("run_id", "tier", "url", "target")

_PAGE_FIELDS = {
    "_id": 0,
    "url": 1,
    "final_url": 1,
    "tier": 1,
    "status": 1,
    "error": 1,
    "indexable": 1,
    "indexability": 1,
    "page_nofollow": 1,
    "outbound_links": 1,
    "commercial_domains": 1,
    "title": 1,
    "main_text": 1,
}


@dataclass
class ScoreSummary:
    """What one scoring pass did: the run, how many scores, and the campaign-level facts."""

    run_id: str
    scored: int
    mean_by_tier: dict[int, float]
    flags: Counter[str]
    anchors: dict[int, AnchorDistribution] = field(default_factory=dict)
    keywords_known: bool = False


def load_terms(
    store: Store, name: str, campaign: Campaign | None, run: Mapping[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """The campaign's (brand, keywords): from ``campaign`` if given, else the campaign as
    the run crawled it, else the stored campaign."""
    if campaign is None and run is not None and run.get("campaign_spec"):
        campaign = campaign_from_dict(run["campaign_spec"], source=f"run {run['_id']}")
    if campaign is None:
        doc = store.campaigns.find_one({"name": name}, {"campaign": 1})
        if doc and doc.get("campaign"):
            campaign = campaign_from_dict(doc["campaign"], source=f"stored campaign {name}")
    if campaign is None:
        return [], []
    return list(campaign.brand), list(campaign.keywords)


def stored_weights(store: Store, name: str) -> dict[str, Any] | None:
    """The per-campaign weight override saved with ``tiercrawl score --weights F --save-weights``."""
    doc = store.campaigns.find_one({"name": name}, {"score_weights": 1})
    return (doc or {}).get("score_weights")


def _finished_run(store: Store, name: str, run_id: str | None) -> dict[str, Any]:
    if run_id is not None:
        run = store.runs.find_one({"_id": run_id, "campaign": name})
        if run is None:
            raise TiercrawlError(f"{name}: no run {run_id}")
        if run.get("status") != "finished":
            raise TiercrawlError(f"{name}: run {run_id} is {run.get('status')}, not finished")
        return run
    newest = store.latest_run(name, ("running", "finished", "failed"), rechecks=False)
    # A crawl whose process was killed left its run running: failed now, it waits for nothing.
    if newest is not None and newest["status"] == "running" and not fail_abandoned(store, newest):
        raise TiercrawlError(
            f"{name}: run {newest['_id']} is still running: wait for it "
            f"(`tiercrawl status {newest['_id']} --wait SECONDS`) or score an earlier run with --run"
        )
    run = store.latest_run(name, rechecks=False)
    if run is None:
        raise TiercrawlError(f"{name}: no finished run to score: run `tiercrawl crawl` first")
    return run


def _read(page: Mapping[str, Any] | None) -> bool:
    """Whether ``page`` was fetched with a 2xx status: its text is its own."""
    return 200 <= ((page or {}).get("status") or 0) < 300


def _page_text(page: Mapping[str, Any] | None) -> str:
    if not page:
        return ""
    return f"{page.get('title') or ''}\n{page.get('main_text') or ''}".strip()


class _Scorer:
    """Holds one run's documents and derived facts while its placements are scored."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        brand: list[str],
        keywords: list[str],
        weights: Mapping[str, float],
    ) -> None:
        self.run_id = run_id
        self.brand, self.keywords, self.weights = brand, keywords, weights
        self.placements = list(store.placements.find({"run_id": run_id}, {"_id": 0}))
        self.pages = {p["url"]: p for p in store.pages.find({"run_id": run_id}, _PAGE_FIELDS)}
        self.pages_by_key = {match_key(url): page for url, page in self.pages.items()}
        self.index = TfidfIndex(_page_text(page) for page in self.pages.values())
        self._counts: dict[str, Counter[str]] = {}
        self._vectors: dict[str, Vector] = {}

    def page(self, url: str) -> Mapping[str, Any] | None:
        return self.pages.get(url) or self.pages_by_key.get(match_key(url))

    def counts(self, url: str) -> Counter[str]:
        if url not in self._counts:
            self._counts[url] = tokens(_page_text(self.page(url)))
        return self._counts[url]

    def vector(self, url: str) -> Vector:
        if url not in self._vectors:
            self._vectors[url] = self.index.weigh(self.counts(url))
        return self._vectors[url]

    def anchor_class(self, placement: Mapping[str, Any]) -> str | None:
        link = placement.get("link") if placement.get("found") else None
        if not link:
            return None
        return classify_anchor(
            link.get("anchor_text"),
            kind=link.get("anchor_kind") or "text",
            keywords=self.keywords,
            brand=self.brand,
        )

    def score(
        self,
        placement: Mapping[str, Any],
        anchor_class: str | None,
        overuse: bool,
        support: Support | None,
    ) -> Score:
        page = self.page(placement["url"])
        link = placement.get("link") or {}
        # An error page's title and text ("Not found") say nothing of the page's topic,
        # nor of the target's: a 404 target leaves only the keywords to compare with.
        target = self.page(placement["target"])
        target_text = _page_text(target) if _read(target) else ""
        relevance = (
            placement_relevance(
                self.index,
                page_text="",
                context=(link.get("context") or "") if placement.get("found") else "",
                anchor=link.get("anchor_text") or "",
                target_text=target_text,
                keywords=self.keywords,
                page_counts=self.counts(placement["url"]),
                target_vector=self.vector(placement["target"]) if target_text else None,
            )
            if _read(page)
            else Relevance(None)
        )
        main_text = (page or {}).get("main_text") or ""
        return score_placement(
            PlacementFacts(
                placement=placement,
                page=page,
                relevance=relevance,
                anchor_class=anchor_class,
                exact_match_overuse=overuse,
                content_offset=content_offset(
                    main_text, link.get("context") or "", link.get("anchor_text") or ""
                )
                if link
                else None,
                commercial_domains=(page or {}).get("commercial_domains") or 0,
                support=support,
            ),
            self.weights,
        )


def _doc(
    run: Mapping[str, Any],
    placement: Mapping[str, Any],
    score: Score,
    anchor_class: str | None,
    support: Support | None,
    scored_at: datetime,
) -> dict[str, Any]:
    link = placement.get("link") if placement.get("found") else None
    doc: dict[str, Any] = {
        "run_id": run["_id"],
        "campaign": run["campaign"],
        "tier": placement["tier"],
        "url": placement["url"],
        "target": placement["target"],
        "score": score.score,
        "components": score.components,
        "flags": score.flags,
        "explanation": score.explanation,
        # Extra fields, so reports need not join placements again.
        "status": placement.get("status"),
        "anchor_text": link.get("anchor_text") if link else None,
        "anchor_class": anchor_class,
        "region": link.get("region") if link else None,
        "rel": list(link.get("rel") or ()) if link else [],
        **{name: placement.get(name) for name in DEAL_FIELDS},
        "scored_at": scored_at,
    }
    if support is not None:
        doc["support"] = {"planned": support.planned, "found": support.found, "live": support.live}
    return doc


def _overused_tier1_pages(
    placements: Iterable[Mapping[str, Any]], classes: Mapping[int, str | None]
) -> dict[str, dict[str, Any]]:
    """The tier-1 pages whose tier-2 anchors overuse exact-match keywords, by `match_key`.

    Each tier-1 page has a profile of its own, the links that point at it, as the
    money site has its tier-1 links: a pool of all tier-2 links would hide one page
    whose every link is an exact-match keyword among pages with varied anchors.
    """
    by_page: dict[str, list[str]] = defaultdict(list)
    written: dict[str, str] = {}
    for placement in placements:
        anchor_class = classes[id(placement)]
        if placement["tier"] == 2 and anchor_class:
            key = match_key(placement["target"])
            by_page[key].append(anchor_class)
            written.setdefault(key, placement["target"])
    overused = {}
    for key, page_classes in by_page.items():
        profile = anchor_distribution(page_classes)
        if profile.exact_match_overuse:
            overused[key] = {
                "target": written[key],
                "exact_match": profile.counts["exact_match"],
                "found": profile.total,
            }
    return overused


def score_run(
    store: Store,
    name: str,
    *,
    campaign: Campaign | None = None,
    weights: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> ScoreSummary:
    """Score every placement of ``name``'s latest finished run (or ``run_id``); store the scores."""
    run = _finished_run(store, name, run_id)
    brand, keywords = load_terms(store, name, campaign, run)
    effective = merge_weights(stored_weights(store, name), weights)
    scorer = _Scorer(store, run["_id"], brand, keywords, effective)
    classes = {id(p): scorer.anchor_class(p) for p in scorer.placements}
    anchors: dict[int, AnchorDistribution] = {}
    for tier in (1, 2):
        anchors[tier] = anchor_distribution(
            c for p in scorer.placements if p["tier"] == tier and (c := classes[id(p)])
        )
    overused_pages = _overused_tier1_pages(scorer.placements, classes)
    scored_at = datetime.now(UTC)
    docs: list[dict[str, Any]] = []
    # Tier-2 first: their scores are the quality of the tier-1 pages' support.
    tier2_scores: dict[str, list[tuple[Mapping[str, Any], float]]] = defaultdict(list)
    for placement in sorted(scorer.placements, key=lambda p: -p["tier"]):
        tier = placement["tier"]
        support = None
        if tier == 1:
            supporters = tier2_scores.get(match_key(placement["url"]), [])
            # A link found on a page that could not be read well (404, 503) supports nothing yet.
            found = [
                (p, s)
                for p, s in supporters
                if p.get("found") and p.get("status") not in STATUS_BANDS
            ]
            support = Support(
                planned=len(supporters),
                found=len(found),
                live=sum(1 for p, _ in found if p.get("status") == "live"),
                quality=sum(s for _, s in found) / 100,
            )
        anchor_class = classes[id(placement)]
        target_key = match_key(placement["target"]) if tier == 2 else None
        overuse = anchors[tier].exact_match_overuse or target_key in overused_pages
        score = scorer.score(placement, anchor_class, overuse, support)
        if target_key is not None:
            tier2_scores[target_key].append((placement, score.score))
        docs.append(_doc(run, placement, score, anchor_class, support, scored_at))
    store.upsert_many("scores", docs, key=SCORE_KEY)
    by_tier: dict[int, list[float]] = defaultdict(list)
    for doc in docs:
        by_tier[doc["tier"]].append(doc["score"])
    mean_by_tier = {tier: round(sum(v) / len(v), 1) for tier, v in sorted(by_tier.items())}
    store.runs.update_one(
        {"_id": run["_id"]},
        {
            "$set": {
                "scoring": {
                    "scored_at": scored_at,
                    "scores": len(docs),
                    "weights": effective,
                    "relevance_method": RELEVANCE_METHOD,
                    "keywords": keywords,
                    "brand": brand,
                    "mean_by_tier": {str(t): m for t, m in mean_by_tier.items()},
                    "anchors": {
                        str(tier): {
                            "counts": dist.counts,
                            "exact_match_share": round(dist.share("exact_match"), 4),
                            "exact_match_overuse": dist.exact_match_overuse,
                            **(
                                {"overused_pages": list(overused_pages.values())}
                                if tier == 2
                                else {}
                            ),
                        }
                        for tier, dist in anchors.items()
                    },
                }
            }
        },
    )
    return ScoreSummary(
        run_id=run["_id"],
        scored=len(docs),
        mean_by_tier=mean_by_tier,
        flags=Counter(flag for doc in docs for flag in doc["flags"]),
        anchors=anchors,
        keywords_known=bool(keywords or brand),
    )
