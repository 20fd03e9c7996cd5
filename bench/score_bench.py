"""Scoring throughput on the embedded store, against a plain read of the same documents.

Usage: ``.venv/bin/python bench/score_bench.py [--placements 10000] [--links-per-page 30]``

Writes one synthetic finished run into a fresh embedded store (SecantusDB in a
temporary directory): 80 % tier-1 placements on their own pages, 20 % tier-2
placements pointing at them, 50 money-site target pages, each page with
about 400 words of main text from one of eight topics and
``--links-per-page`` links. Then, in the same process, it times

1. a plain read: every document the job reads (placements, pages with the
   fields scoring uses, links of the linking pages), iterated to the end;
2. ``tiercrawl.jobs.score.score_run`` end to end (read, TF-IDF, scoring,
   upsert of every score, run summary);

and prints both, placements per second, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tiercrawl.core.scoring import commercial_domains
from tiercrawl.jobs.score import _PAGE_FIELDS, score_run
from tiercrawl.store import open_store
from tiercrawl.store.embedded import stop_embedded
from tiercrawl.testing import insert_finished_run, link_document, placement_document

TOPICS = {
    "drills": "drill cordless battery torque chuck brushless motor clutch masonry hammer bit",
    "gardens": "garden soil compost tulip bulb seed watering pruning hedge lawn mulch",
    "recipes": "recipe tomato sauce garlic basil oven pasta flour butter simmer salt",
    "travel": "flight hotel beach passport itinerary museum luggage airport train visa",
    "finance": "loan mortgage interest savings budget credit pension invest stock bond",
    "football": "match goal striker league season coach penalty stadium transfer keeper",
    "phones": "smartphone screen camera battery charger android update app signal case",
    "cycling": "bike saddle gear chain tyre helmet pedal frame brake route climb",
}
FILLER = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "that",
    "with",
    "on",
    "as",
    "was",
    "it",
    "by",
    "this",
    "are",
    "from",
    "at",
    "be",
]
REGIONS = ["content"] * 6 + ["nav", "footer", "aside", "comments"]


def _text(rng: random.Random, topic: str, words: int = 400) -> str:
    vocab = TOPICS[topic].split()
    return " ".join(
        rng.choice(vocab) if rng.random() < 0.35 else rng.choice(FILLER) for _ in range(words)
    )


def populate(store: Any, placements: int, links_per_page: int, seed: int = 1) -> str:
    """One finished run of ``placements`` placements with their pages and links."""
    rng = random.Random(seed)
    run_id = "bench-run"
    campaign = "bench"
    insert_finished_run(store, run_id, campaign, datetime.now(UTC))
    store.campaigns.insert_one(
        {
            "name": campaign,
            "campaign": {
                "name": campaign,
                "money_site": "https://money.example/",
                "brand": ["Acme"],
                "keywords": ["cordless drill", "brushless motor"],
                "tier1": [
                    {"url": "https://site0.example/t1/0", "target": "https://money.example/p/0"}
                ],
                "tier2": [],
            },
        }
    )
    topics = list(TOPICS)
    targets = [f"https://money.example/p/{i}" for i in range(50)]
    pages = [
        {"url": t, "tier": 0, "topic": "drills", "text": _text(rng, "drills")} for t in targets
    ]
    n_tier1 = placements * 4 // 5
    plan = []
    for i in range(placements):
        tier = 1 if i < n_tier1 else 2
        url = f"https://site{i % 997}.example/t{tier}/{i}"
        target = (
            rng.choice(targets)
            if tier == 1
            else f"https://site{(i - n_tier1) % n_tier1 % 997}.example/t1/{(i - n_tier1) % n_tier1}"
        )
        topic = "drills" if rng.random() < 0.6 else rng.choice(topics)
        pages.append({"url": url, "tier": tier, "topic": topic, "text": _text(rng, topic)})
        plan.append((tier, url, target, topic))
    page_docs, link_docs, placement_docs = [], [], []
    for page in pages:
        page_docs.append(
            {
                "run_id": run_id,
                "campaign": campaign,
                "url": page["url"],
                "final_url": page["url"],
                "tier": page["tier"],
                "status": 200,
                "error": None,
                "indexable": rng.random() > 0.05,
                "indexability": [],
                "page_nofollow": False,
                "outbound_links": rng.randint(1, 60),
                "title": f"{page['topic']} page",
                "main_text": page["text"],
                "word_count": 400,
            }
        )
    for tier, url, target, topic in plan:
        links = []
        for position in range(links_per_page):
            links.append(
                {
                    "run_id": run_id,
                    "campaign": campaign,
                    **link_document(
                        url,
                        f"https://other{position}.example/",
                        position,
                        anchor_text=rng.choice(["read more", "buy cheap drills", "home", topic]),
                        region=rng.choice(REGIONS),
                        context=_text(rng, topic, 40),
                    ),
                }
            )
        status = rng.choices(["live", "nofollow", "missing"], [0.8, 0.1, 0.1])[0]
        link = None
        if status != "missing":
            link = dict(links[rng.randrange(links_per_page)])
            link.update(
                url=target,
                anchor_text=rng.choice(["cordless drill", "Acme", "click here", target]),
                nofollow=status == "nofollow",
                rel=["nofollow"] if status == "nofollow" else [],
            )
            links[link["position"]] = dict(link)
        link_docs.extend(links)
        # As the crawl's extraction pipeline does: the page carries its link-farm count.
        page_docs[len(targets) + len(placement_docs)]["commercial_domains"] = commercial_domains(
            links
        )
        placement_docs.append(
            {
                "run_id": run_id,
                "campaign": campaign,
                **placement_document(tier, url, target, status, link),
            }
        )
    for name, docs in (("pages", page_docs), ("links", link_docs), ("placements", placement_docs)):
        for start in range(0, len(docs), 5000):
            store.db[name].insert_many(docs[start : start + 5000], ordered=False)
    return run_id


def plain_read(store: Any, run_id: str) -> int:
    """Read every document scoring reads, with the same queries and projections."""
    count = len(list(store.placements.find({"run_id": run_id}, {"_id": 0})))
    count += sum(1 for _ in store.pages.find({"run_id": run_id}, _PAGE_FIELDS))
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, default=10_000)
    parser.add_argument("--links-per-page", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tiercrawl-bench-") as home:
        os.environ.pop("TIERCRAWL_MONGO_URI", None)
        store = open_store(None, home=Path(home))
        store.ensure_indexes()
        started = time.perf_counter()
        run_id = populate(store, args.placements, args.links_per_page)
        print(
            f"populated {args.placements} placements, "
            f"{store.pages.estimated_document_count()} pages, "
            f"{store.links.estimated_document_count()} links "
            f"in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        documents = plain_read(store, run_id)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        summary = score_run(store, "bench")
        score_s = time.perf_counter() - started
        assert summary.scored == args.placements
        assert store.scores.count_documents({"run_id": run_id}) == args.placements
        print(f"plain read: {documents} documents in {read_s:.2f} s")
        print(
            f"score_run:  {summary.scored} placements in {score_s:.2f} s "
            f"({summary.scored / score_s:.0f} placements/s)"
        )
        print(f"ratio score/read: {score_s / read_s:.2f}")
        print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
        store.close()
        stop_embedded()  # before its data directory goes
    return 0


if __name__ == "__main__":
    sys.exit(main())
