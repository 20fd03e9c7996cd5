"""The placements of a run: one verdict per campaign entry, from stored pages and links.

Runs after the crawl (the run recorder calls it when the spider closes), so
every target's redirects are known before any link is matched against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tiercrawl.core.matching import evaluate_placement

if TYPE_CHECKING:
    from tiercrawl.core.campaign import Campaign, Entry
    from tiercrawl.store import Store

__all__ = ["compute_placements"]

_CHUNK = 200
_PAGE_FIELDS = {"main_text": 0, "_id": 0}


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aliases(page: dict[str, Any] | None) -> list[str]:
    if not page:
        return []
    return [u for u in [page.get("final_url"), *page.get("redirects", [])] if u]


def compute_placements(store: Store, run_id: str, campaign: Campaign) -> int:
    """Evaluate every entry of ``campaign`` in run ``run_id``; store and count the placements."""
    entries = campaign.entries()
    urls = sorted({e.url for e in entries} | {e.target for e in entries})
    pages: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(urls, _CHUNK):
        for page in store.pages.find(
            {"run_id": run_id, "url": {"$in": list(chunk)}}, _PAGE_FIELDS
        ):
            pages[page["url"]] = page
    written = 0
    entry_urls = sorted({e.url for e in entries})
    for chunk in _chunks(entry_urls, _CHUNK):
        links_by_page: dict[str, list[dict[str, Any]]] = {url: [] for url in chunk}
        query = {"run_id": run_id, "source_url": {"$in": list(chunk)}}
        for link in store.links.find(query, {"_id": 0}).sort("position", 1):
            links_by_page[link["source_url"]].append(link)
        docs = list(_placements(run_id, campaign, entries, chunk, pages, links_by_page))
        store.upsert_many("placements", docs, key=("run_id", "tier", "url", "target"))
        written += len(docs)
    return written


def _placements(
    run_id: str,
    campaign: Campaign,
    entries: Iterable[Entry],
    chunk: Sequence[str],
    pages: dict[str, dict[str, Any]],
    links_by_page: dict[str, list[dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    in_chunk = set(chunk)
    for entry in entries:
        if entry.url not in in_chunk:
            continue
        verdict = evaluate_placement(
            entry,
            pages.get(entry.url),
            links_by_page[entry.url],
            target_aliases=_aliases(pages.get(entry.target)),
        )
        yield {"run_id": run_id, "campaign": campaign.name, **verdict}
