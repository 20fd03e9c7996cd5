"""The ``tiers`` spider: every tier-1 and tier-2 page of a campaign, and the targets.

``scrapy crawl tiers -a campaign=PATH_OR_NAME [-a run_id=ID] [-a render=auto|always|never]``

With ``-a shard=N`` (set by ``tiercrawl schedule``, with the run id), the
spider crawls the pages of shard N of that run, on the registered domains the
run document assigns to it, from the campaign as it was scheduled.

Each campaign URL is requested once per run and ends as exactly one ``pages``
document: a response of any status is kept (``handle_httpstatus_list``), and a
failure (DNS, refused connection, timeout, robots.txt, too large, redirect
loop) goes through ``errback`` with its reason. The spider only fetches; the
extraction happens in ``tiercrawl.pipelines.ExtractPipeline``. A page that
needs JavaScript is fetched again by Chromium, and the rendered page (or the
raw one, if the render fails) is its item (``tiercrawl.rendering.Renderer``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from tiercrawl.campaigns import resolve_campaign
from tiercrawl.core.errors import error_reason
from tiercrawl.core.render import RENDER_MODES
from tiercrawl.core.setting_values import CHECKED_SETTINGS, setting_problems
from tiercrawl.core.shards import shard_pages
from tiercrawl.exceptions import UsageError
from tiercrawl.items import PageItem
from tiercrawl.jobs.diff import recheck_campaign
from tiercrawl.jobs.runs import load_shard
from tiercrawl.rendering import Renderer
from tiercrawl.robotstxt import GOOGLEBOT_ALLOWED
from tiercrawl.store_access import store_for

if TYPE_CHECKING:
    from tiercrawl.core.campaign import Campaign

logger = logging.getLogger(__name__)

# Every status reaches the callback except redirects, which RedirectMiddleware follows.
# Every status but redirects, which RedirectMiddleware follows; up to 999, which
# some sites answer crawlers with.
_KEPT_STATUSES = [*range(100, 300), *range(400, 1000)]
# Response headers the extraction needs; the rest is not stored.
_KEPT_HEADERS = ("content-type", "content-language", "x-robots-tag", "link", "server")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def new_run_id(campaign: str) -> str:
    """A run id that sorts by time and never collides: ``NAME-YYYYmmddTHHMMSSZ-xxxxxx``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{campaign}-{stamp}-{secrets.token_hex(3)}"


class TiersSpider(scrapy.Spider):
    name = "tiers"

    def __init__(
        self,
        campaign: str | None = None,
        run_id: str | None = None,
        shard: str | None = None,
        render: str | None = None,
        recheck_of: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not campaign:
            raise UsageError("the tiers spider needs -a campaign=PATH_OR_NAME")
        if shard is not None and not (run_id and shard.isdigit()):
            raise UsageError("-a shard=N takes a shard number and needs -a run_id=ID")
        self.campaign_ref = campaign
        self.run_id_arg = run_id
        if render is not None and render not in RENDER_MODES:
            raise UsageError(f"-a render={render}: expected one of {', '.join(RENDER_MODES)}")
        self.render_arg = render
        # Set by `tiercrawl schedule`: crawl only this shard's sites of a run stored in MongoDB.
        self.shard = int(shard) if shard is not None else None
        self.shard_domains: list[str] = []
        # Set by `tiercrawl crawl --recheck`: crawl only what got worse or went unread in that run.
        self.recheck_of = recheck_of

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> TiersSpider:
        settings = crawler.settings
        problems = setting_problems({name: settings.get(name) for name in CHECKED_SETTINGS})
        if problems:
            raise UsageError("bad settings", problems)
        spider: TiersSpider = super().from_crawler(crawler, *args, **kwargs)
        if spider.render_arg:
            # Settings are still open here: the rendering add-on and middleware read this.
            crawler.settings.set("TIERCRAWL_RENDER", spider.render_arg, priority="spider")
        if spider.shard is not None and spider.run_id_arg:
            spider.campaign, spider.shard_domains = load_shard(
                store_for(crawler), spider.run_id_arg, spider.shard
            )
        else:
            spider.campaign = resolve_campaign(spider.campaign_ref, store_for(crawler))
        if spider.recheck_of:
            spider.campaign = recheck_campaign(
                store_for(crawler), spider.campaign, spider.recheck_of
            )
        spider.run_id = spider.run_id_arg or new_run_id(spider.campaign.name)
        spider.renderer = Renderer.from_crawler(crawler, spider.campaign)
        return spider

    campaign: Campaign
    run_id: str
    renderer: Renderer

    def pages_to_crawl(self) -> list[tuple[str, int]]:
        pages = self.campaign.pages()
        return pages if self.shard is None else shard_pages(pages, self.shard_domains)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.page_requests(self.pages_to_crawl()):
            yield request

    def page_requests(self, pages: Iterable[tuple[str, int]]) -> Iterable[scrapy.Request]:
        # One bound method for all requests: Scrapy checks each callback for a generator
        # that returns a value, reading its source, and remembers the answer only while
        # that callback object lives. A new one per request was read again and again.
        callback, errback = self.parse, self.errback
        for url, tier in pages:
            self.crawler.stats.inc_value("tiercrawl/pages_requested")
            yield scrapy.Request(
                url,
                callback=callback,
                errback=errback,
                dont_filter=True,
                meta={
                    "tiercrawl_url": url,
                    "tiercrawl_tier": tier,
                    "handle_httpstatus_list": _KEPT_STATUSES,
                },
            )

    def new_item(self, meta: dict[str, Any]) -> PageItem:
        return PageItem(
            run_id=self.run_id,
            campaign=self.campaign.name,
            url=meta["tiercrawl_url"],
            tier=meta["tiercrawl_tier"],
            fetched_at=datetime.now(UTC),
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterable[PageItem | scrapy.Request]:
        """The raw page: its item, or a render request when it needs rendering."""
        item = self.page_item(response)
        render = self.renderer.render_request(
            response, item, self.parse_rendered, self.render_failed
        )
        yield render or item

    def parse_rendered(self, response: Response) -> Iterable[PageItem]:
        yield self.renderer.rendered(response, self.page_item(response))

    def render_failed(self, failure: Failure) -> Iterable[PageItem]:
        yield self.renderer.failed(failure)

    def page_item(self, response: Response) -> PageItem:
        item = self.new_item(response.meta)
        item.final_url = response.url
        item.status = response.status
        item.redirects = list(response.meta.get("redirect_urls", []))
        item.rendered = "playwright" in response.flags
        item.googlebot_allowed = response.meta.get(GOOGLEBOT_ALLOWED)
        item.headers = {
            name: [v.decode("latin-1") for v in response.headers.getlist(name)]
            for name in _KEPT_HEADERS
            if name in response.headers
        }
        content_type = (item.headers.get("content-type") or [""])[0]
        item.content_type = content_type.split(";")[0].strip().lower() or None
        body = response.body
        # isspace() stops at the first other byte: strip() would copy every page's body.
        if 200 <= response.status < 300 and (not body or body.isspace()):
            # A blank answer (204, an empty 200: a server glitch as often as not) shows
            # no page, so it proves no link missing.
            item.error = "empty"
        elif isinstance(response, TextResponse) and _is_html(item.content_type, response):
            item.html = response.text
        elif body:
            item.error = "not_html"
        self.crawler.stats.inc_value(f"tiercrawl/status/{response.status}")
        return item

    def errback(self, failure: Failure) -> Iterable[PageItem]:
        request = failure.request  # type: ignore[attr-defined]
        item = self.new_item(request.meta)
        names = [cls.__name__ for cls in type(failure.value).__mro__]
        item.error = error_reason(names, str(failure.value))
        item.error_detail = f"{type(failure.value).__name__}: {failure.value}"[:300]
        item.redirects = list(request.meta.get("redirect_urls", []))
        if item.redirects:
            # Where the redirects led, though it could not be fetched: known, the
            # placements match links written to that address (a tier-1 page moved).
            item.final_url = request.url
        response = getattr(failure.value, "response", None)
        if response is not None:
            # HttpError: a redirect that RedirectMiddleware could not follow (no Location).
            item.error = "bad_redirect"
            item.status = response.status
            item.final_url = response.url
        if item.error == "robots":
            item.robots_allowed = False
        # robots.txt's verdict for Googlebot, where it was read: a site may close itself to
        # tiercrawl alone.
        item.googlebot_allowed = request.meta.get(GOOGLEBOT_ALLOWED)
        logger.info("%s failed: %s", item.url, item.error_detail, extra={"spider": self})
        yield item


def _is_html(content_type: str | None, response: TextResponse) -> bool:
    if content_type:
        return content_type in _HTML_TYPES
    # No Content-Type: trust what Scrapy sniffed from the body.
    return response.__class__.__name__ == "HtmlResponse"
