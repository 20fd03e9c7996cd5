"""What the embedded store's CPU buys per document: the crawl's writes and the reads at close.

Usage: ``.venv/bin/python bench/store_bench.py [--pages 2000] [--rounds 3]``

Starts the embedded store's server process (``python -m tiercrawl.store.server``)
on a temporary directory and writes, as the crawl does, the documents of
``--pages`` copies of the crawl benchmark's generated page (its links as
``tiercrawl.core.extract.extract_page`` finds them; the page document with the
fields the crawl stores, its 20 KB ``main_text`` included). The server's CPU
is read from ``/proc`` around each step:

1. ``links``: `Store.insert_links`, 1,000 links a call (the sink's batch);
2. ``pages`` three ways, each in a collection of its own: under the unique
   ``(run_id, url)`` index tiercrawl creates (`Store.upsert_many`, as the
   sink writes); with an ``_id`` derived from that key and the same index not
   unique; with no index but ``_id``;
3. reading the run's pages back as the placements at close do
   (`tiercrawl.jobs.placements`): only the URLs they redirected through,
   then everything but ``main_text``.

It prints milliseconds of store CPU per document (per page for the links),
best of ``--rounds``: run 22 of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from crawlbench.measure import cpu_seconds
from crawlbench.site import ARTICLE_HOSTS, generate_site
from crawlbench.store import store_server

from tiercrawl.core.extract import extract_page
from tiercrawl.jobs.placements import _ALIAS_FIELDS, _PAGE_FIELDS
from tiercrawl.store import Store, open_store

RUN_ID = "store-bench"
PAGE_KEY = [("run_id", 1), ("url", 1)]


@contextmanager
def store_process(data: Path) -> Iterator[tuple[int, Store]]:
    """The embedded store's server on ``data``, and a `Store` on it."""
    with store_server(data) as (pid, uri):
        store = open_store(uri)
        try:
            yield pid, store
        finally:
            store.client.close()


def documents(pages: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``pages`` page documents and their links, one generated page under as many URLs."""
    with tempfile.TemporaryDirectory() as tmp:
        site = generate_site(Path(tmp), 3, 8000)
        html = next(site.root.rglob("*.html")).read_text(encoding="utf-8")
    base = f"http://{ARTICLE_HOSTS[0]}:8000"
    facts = extract_page(html, f"{base}/article.html")
    page_docs, link_docs = [], []
    for n in range(pages):
        url = f"{base}/article-{n}.html"
        owner = {"run_id": RUN_ID, "campaign": "store-bench", "source_url": url}
        links = [{**owner, **vars(link)} for link in facts.links]
        link_docs += links
        page_docs.append(
            {
                "run_id": RUN_ID,
                "campaign": "store-bench",
                "url": url,
                "final_url": url,
                "tier": 1,
                "status": 200,
                "error": None,
                "redirects": [],
                "rendered": False,
                "robots_allowed": True,
                "meta_robots": facts.meta_robots,
                "x_robots_tag": [],
                "canonical": facts.canonical,
                "indexable": True,
                "indexability": [],
                "title": facts.title,
                "lang": facts.lang,
                "word_count": facts.word_count,
                "outbound_links": facts.outbound_links,
                "page_nofollow": False,
                "main_text": facts.main_text,
                "link_count": len(links),
                "target_links": links[:2],
                "commercial_domains": 3,
            }
        )
    return page_docs, link_docs


def derived_id(page: dict[str, Any]) -> bytes:
    return hashlib.blake2b(f"{page['run_id']}\0{page['url']}".encode(), digest_size=16).digest()


def timed(pid: int, step: Callable[[], object]) -> float:
    """The store's CPU seconds for ``step``."""
    before = cpu_seconds(pid)
    step()
    return cpu_seconds(pid) - before


def in_batches(
    write: Callable[[list[dict[str, Any]]], object], docs: list[dict[str, Any]], size: int
) -> Callable[[], None]:
    def step() -> None:
        for start in range(0, len(docs), size):
            write(docs[start : start + size])

    return step


def one_round(
    pid: int, store: Store, pages: list[dict[str, Any]], links: list[dict[str, Any]]
) -> dict[str, float]:
    """Store CPU seconds per document of each step, into a fresh store."""
    store.ensure_indexes()
    scratch = store.client["store_bench_scratch"]
    not_unique = scratch["not_unique"]
    not_unique.create_index(PAGE_KEY)
    with_ids = [{**page, "_id": derived_id(page)} for page in pages]
    n = len(pages)

    def upsert_pages(batch: list[dict[str, Any]]) -> None:
        store.upsert_many("pages", batch, ("run_id", "url"))

    steps: dict[str, Callable[[], object]] = {
        "links, per page": in_batches(store.insert_links, links, 1000),
        # The sink's batches hold 1,000 links: 14 pages of the generated page.
        "page, under the unique (run_id, url) index (tiercrawl)": in_batches(
            upsert_pages, pages, 14
        ),
        "page, derived _id, the index not unique": in_batches(
            not_unique.insert_many, with_ids, 14
        ),
        "page, _id only": in_batches(scratch["id_only"].insert_many, with_ids, 14),
        "read at close: the URLs pages went through": lambda: list(
            store.pages.find({"run_id": RUN_ID}, _ALIAS_FIELDS, batch_size=1000)
        ),
        "read at close: pages without main_text": lambda: list(
            store.pages.find({"run_id": RUN_ID}, _PAGE_FIELDS, batch_size=200)
        ),
    }
    return {name: timed(pid, step) / n for name, step in steps.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pages, links = documents(args.pages)
    print(
        f"{args.pages} pages of {len(links) // args.pages} links, {len(pages[0]['main_text'])} characters of main text"
    )
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp, store_process(Path(tmp)) as (pid, store):
            for name, seconds in one_round(pid, store, pages, links).items():
                best[name] = min(best.get(name, seconds), seconds)
    print(f"store CPU ms per document, best of {args.rounds}")
    for name, seconds in best.items():
        print(f"{seconds * 1000:8.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
