"""The placements job on a real store: every entry gets one verdict, page by page."""

from __future__ import annotations

from typing import Any

from tiercrawl.core.campaign import campaign_from_dict
from tiercrawl.jobs.placements import DIGESTS, compute_placements
from tiercrawl.store import Store
from tiercrawl.testing import link_document

RUN = "run-1"
TARGET = "https://acme.example/drills"
# More pages than one write (`_CHUNK`, 200) holds, so that chunks follow each other.
STORED = 450


def _page(url: str, links: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "run_id": RUN,
        "url": url,
        "final_url": url,
        "redirects": [],
        "status": 200,
        "error": None,
        "indexable": True,
        "indexability": [],
        "page_nofollow": False,
        "title": "Cordless drills compared",
        "word_count": 800,
        "link_count": len(links),
        "target_links": links,
    }


def test_every_entry_gets_a_verdict_also_when_its_page_was_never_stored(store: Store) -> None:
    urls = [f"https://blog{n}.example.org/drills" for n in range(STORED + 1)]
    campaign = campaign_from_dict(
        {
            "name": "acme",
            "money_site": "https://acme.example/",
            "tier1": [{"url": url, "target": TARGET} for url in urls],
        }
    )
    # The last entry's page is missing, as after a shard that never reported.
    store.pages.insert_many(
        [
            _page(url, [link_document(url, TARGET, 0)] if n % 2 else [])
            for n, url in enumerate(urls[:STORED])
        ]
    )

    assert compute_placements(store, RUN, campaign) == STORED + 1

    placements = {p["url"]: p for p in store.placements.find({"run_id": RUN})}
    assert len(placements) == STORED + 1
    assert placements[urls[1]]["status"] == "live"
    assert placements[urls[1]]["link"]["url"] == TARGET
    assert placements[urls[0]]["status"] == "missing"
    assert placements[urls[0]]["link"] is None
    never_stored = placements[urls[STORED]]
    assert (never_stored["status"], never_stored["reason"]) == ("inconclusive", "page not crawled")
    counted = sum(len(d["entries"]) for d in store.db[DIGESTS].find({"run_id": RUN}))
    assert counted == STORED + 1
