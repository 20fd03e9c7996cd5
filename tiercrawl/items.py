"""Items: one ``PageItem`` per crawled URL, carrying its links.

One item per page, not per link: an item per link costs Scrapy about half its
throughput. Field names equal the contract's ``pages`` fields
(``../shared/spec/contract.md`` §3); the fields in ``TRANSIENT_FIELDS`` carry
the response to the extraction pipeline and are never stored on ``pages``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TRANSIENT_FIELDS", "PageItem"]

TRANSIENT_FIELDS = frozenset({"html", "raw_html", "raw_url", "headers", "links", "parsed"})


@dataclass
class PageItem:
    # identity
    run_id: str
    campaign: str
    url: str
    tier: int
    # fetch facts, filled by the spider
    final_url: str | None = None
    status: int | None = None
    error: str | None = None
    error_detail: str | None = None
    redirects: list[str] = field(default_factory=list)
    rendered: bool = False
    render_reason: str | None = None
    robots_allowed: bool = True  # for tiercrawl's user agent: whether it may fetch the page
    googlebot_allowed: bool | None = None  # for Googlebot; None: no robots.txt rules read
    content_type: str | None = None
    fetched_at: Any = None
    # page signals, filled by the extraction pipeline
    meta_robots: list[str] = field(default_factory=list)
    x_robots_tag: list[str] = field(default_factory=list)
    canonical: str | None = None
    indexable: bool = False
    indexability: list[str] = field(default_factory=list)
    title: str | None = None
    lang: str | None = None
    word_count: int = 0
    outbound_links: int = 0
    commercial_domains: int = 0
    # The page's links into its targets' registered domains (copies of ``links``
    # documents): all its placements need, without reading ``links`` back.
    # None: more than the pipeline keeps (`TARGET_LINKS_KEPT`); read back from ``links``.
    target_links: list[dict[str, Any]] | None = field(default_factory=list)
    page_nofollow: bool = False
    challenge: bool = False  # looks like a firewall or bot challenge, not the real page
    truncated: bool = False  # nested too deep for the parser to read it all
    main_text: str = ""
    link_count: int = 0
    # transient: the response, and the extracted links (stored in ``links``)
    html: str | None = None
    raw_html: str | None = None
    raw_url: str | None = None  # the raw response's URL, against which raw_html resolves
    # html's tree, where auto rendering parsed it already (tiercrawl.core.extract.ParsedPage);
    # the extraction reads it instead of parsing again, and lets it go
    parsed: Any = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    # stored on ``pages``: links of the raw HTML that the page's scripts removed (the first
    # `REMOVED_LINKS_KEPT` of them), and how many there were
    removed_links: list[dict[str, Any]] = field(default_factory=list)
    removed_link_count: int = 0
