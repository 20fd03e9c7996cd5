"""robots.txt, with every waiting request given the site's rules, and Googlebot's verdict.

Scrapy 2.19's ``RobotsTxtMiddleware`` hands a site's pending robots.txt
Deferred to each waiting request through ``Deferred.asFuture``, whose callback
returns None: only the first waiter gets the parser, and every other request
that arrived while robots.txt was downloading is let through unchecked. This
subclass gives each waiter its own Deferred fed from the shared one, so a
disallowed page is never fetched, however many requests were queued for the
site.

A robots.txt the server cannot give (5xx, or 429 Too Many Requests, after the
retries) closes the whole site, as RFC 9309 (2.3.1.4) asks and as Google
does: Scrapy reads the error page as rules, so a site whose robots.txt is down
was crawled as if it allowed everything. So does one that cannot be read
whole (a timeout, a dropped connection, over ``DOWNLOAD_MAXSIZE``), which
Scrapy took for no robots.txt at all. A host that does not resolve or
refuses connections is left to the page's own request, whose error
(``dns``, ``connection``) says more than ``robots``.

A page tiercrawl may fetch may still be closed to Googlebot (a
``User-agent: Googlebot`` group): then Google cannot see its links. Each
request that passes gets ``meta[GOOGLEBOT_ALLOWED]``, Googlebot's verdict under
the same rules, which the page's ``googlebot_allowed`` and indexability take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.robotstxt import (
    RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware,
)
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from tiercrawl.core.errors import error_reason

if TYPE_CHECKING:
    from scrapy.http import Request, Response
    from scrapy.robotstxt import RobotParser

__all__ = ["GOOGLEBOT_ALLOWED", "RobotsTxtMiddleware"]

GOOGLEBOT_ALLOWED = "tiercrawl_googlebot_allowed"


_DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


# Failures of robots.txt that the site's pages meet too, with an error of their own.
_PAGES_FAIL_TOO = frozenset({"dns", "tls", "unsupported_scheme"})
_REFUSED = frozenset({"ConnectionRefusedError", "DownloadConnectionRefusedError"})


def _site_unreachable(exc: Exception) -> bool:
    names = [cls.__name__ for cls in type(exc).__mro__]
    return (
        not _REFUSED.intersection(names) and error_reason(names, str(exc)) not in _PAGES_FAIL_TOO
    )


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500 or response.status == 429:
            response = response.replace(body=_DISALLOW_ALL)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        # IgnoreRequest: a redirect loop or an offsite robots.txt, which RFC 9309 reads as none.
        if isinstance(exc, IgnoreRequest) or not _site_unreachable(exc):
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        parser = build_from_crawler(self._parserimpl, self.crawler, _DISALLOW_ALL)
        pending = self._parsers[netloc]
        assert isinstance(pending, Deferred)
        self._parsers[netloc] = parser
        pending.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if rp is None:
            # No rules read for this host: not the verdict of a host a redirect came from.
            request.meta.pop(GOOGLEBOT_ALLOWED, None)
        else:
            request.meta[GOOGLEBOT_ALLOWED] = bool(rp.allowed(request.url, "Googlebot"))
        super().process_request_2(rp, request)  # IgnoreRequest when tiercrawl may not fetch

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[RobotParser | None] = Deferred()

        def relay(result: Any) -> Any:
            waiter.callback(result)
            return result  # the shared Deferred keeps its result for the next waiter

        pending.addBoth(relay)
        return await maybe_deferred_to_future(waiter)
