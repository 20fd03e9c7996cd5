"""Stored documents shaped as a crawl writes them, for tests and benchmarks.

They build runs, links and placements without crawling: each function gives
the contract's fields (``../shared/spec/contract.md`` §3) with the values of an
unremarkable case, and a caller overrides only what its case is about
(any field, given by name).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tiercrawl.store import Store

__all__ = ["insert_finished_run", "link_document", "placement_document"]


def insert_finished_run(
    store: Store, run_id: str, campaign: str, started_at: datetime, **fields: Any
) -> None:
    """Store the ``runs`` document of a finished run."""
    store.runs.insert_one(
        {
            "_id": run_id,
            "campaign": campaign,
            "status": "finished",
            "started_at": started_at,
            **fields,
        }
    )


def link_document(source_url: str, url: str, position: int, /, **fields: Any) -> dict[str, Any]:
    """A ``links`` document but its run: a followed, visible text link in the content."""
    return {
        "source_url": source_url,
        "href": url,
        "url": url,
        "domain": url.split("/")[2].removeprefix("www."),
        "anchor_text": "cordless drills",
        "anchor_kind": "text",
        "rel": [],
        "nofollow": False,
        "sponsored": False,
        "ugc": False,
        "region": "content",
        "position": position,
        "context": "",
        "hidden": False,
        "rendered_only": False,
        "external": True,
        **fields,
    }


def placement_document(
    tier: int, url: str, target: str, status: str, link: dict[str, Any] | None, /, **fields: Any
) -> dict[str, Any]:
    """A ``placements`` document but its run: found when ``link`` is, with no anchor expected."""
    return {
        "tier": tier,
        "url": url,
        "target": target,
        "found": link is not None,
        "link": link,
        "link_count": int(link is not None),
        "status": status,
        "expected_anchor": None,
        "anchor_matches": None,
        **fields,
    }
