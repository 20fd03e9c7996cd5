"""Scrapy's proxy middleware, with one proxy for the whole crawl: ``TIERCRAWL_PROXY``.

Scrapy takes its proxies from the environment (``http_proxy``,
``https_proxy``, ``no_proxy``). ``TIERCRAWL_PROXY`` (default: the
``TIERCRAWL_PROXY`` environment variable, else none) sends every page,
robots.txt and target request through one proxy instead, credentials in its
URL (``http://user:password@host:port``), whatever the environment says but
``no_proxy``: a crawl scheduled on Scrapyd nodes then takes its proxy as a job
setting. Rendered pages go through it too (`tiercrawl.rendering.RenderingAddon`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit

from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ProxyMiddleware", "browser_proxy"]


class ProxyMiddleware(HttpProxyMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        # Checked when the spider opens (tiercrawl.core.setting_values), before any request.
        proxy = (crawler.settings.get("TIERCRAWL_PROXY") or "").strip()
        if proxy:
            middleware.proxies = {
                scheme: middleware._get_proxy(proxy, scheme) for scheme in ("http", "https")
            }
        return middleware


def browser_proxy(url: str) -> dict[str, Any] | None:
    """``url`` (a checked ``TIERCRAWL_PROXY``) as Playwright's launch option ``proxy``."""
    if not url.strip():
        return None
    parts = urlsplit(url.strip())
    proxy: dict[str, Any] = {"server": f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    return proxy
