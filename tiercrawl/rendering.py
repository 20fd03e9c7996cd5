"""JavaScript rendering through scrapy-playwright: settings, render requests, browser upkeep.

Every page is fetched raw first. The spider asks ``Renderer`` whether the page
needs rendering (``tiercrawl.core.render.decide_render``); if so it yields a
second request for the same URL carrying ``RENDER_REASON`` in its meta.
``RenderMiddleware`` turns that request into a scrapy-playwright one (its own
download slot, a recycled browser context, the wait strategy) and closes the
contexts it retires. ``RenderingAddon`` translates the ``TIERCRAWL_RENDER*``
and ``TIERCRAWL_BROWSER_*`` settings into scrapy-playwright's ``PLAYWRIGHT_*``
ones before any component is built. Settings, rules and figures:
``docs/rendering.md``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from tiercrawl.core.errors import error_reason
from tiercrawl.core.extract import parse_page
from tiercrawl.core.render import (
    RENDER_FAILED,
    RenderFacts,
    RenderPolicy,
    SiteMemory,
    decide_render,
    may_need_render,
    scan_page,
)
from tiercrawl.core.urls import match_key
from tiercrawl.exceptions import UsageError
from tiercrawl.proxy import browser_proxy

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.async_api import BrowserContext, Page, Route, WebSocketRoute
    from playwright.async_api import Request as BrowserRequest
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import Settings
    from twisted.python.failure import Failure

    from tiercrawl.core.campaign import Campaign
    from tiercrawl.items import PageItem

__all__ = [
    "RENDER_REASON",
    "RENDER_SLOT",
    "LazyPlaywrightDownloadHandler",
    "RenderConfig",
    "RenderCrashError",
    "RenderMiddleware",
    "Renderer",
    "RenderingAddon",
    "browser_executable",
    "settle",
]

logger = logging.getLogger(__name__)

# Request meta: why the page is rendered (``pages.render_reason``); marks a render request.
RENDER_REASON = "tiercrawl_render_reason"
_RAW_ITEM = "tiercrawl_raw_item"
_RAW_SIGNALS = "tiercrawl_raw_signals"
# All renders share one download slot, so TIERCRAWL_RENDER_CONCURRENCY bounds the open pages.
RENDER_SLOT = "tiercrawl-render"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
# Kept from the raw request: the page's identity and its status handling.
_CARRIED_META = ("tiercrawl_url", "tiercrawl_tier", "handle_httpstatus_list")

# Before the page's scripts: no popups (window.open), and a note of when each pending
# setTimeout is due, so that the wait for late links also waits for the timers due
# within it (a widget added after 2 s).
_PAGE_JS = """(() => {
  window.open = () => null;
  const due = new Map();
  const set = window.setTimeout, clear = window.clearTimeout;
  window.__tiercrawlTimers = due;
  window.setTimeout = function (handler, delay, ...args) {
    let id;
    const run = typeof handler === "function"
      ? function () { due.delete(id); return handler.apply(this, arguments); }
      : handler;
    id = set.call(window, run, delay, ...args);
    due.set(id, performance.now() + (Number(delay) || 0));
    return id;
  };
  window.clearTimeout = function (id) { due.delete(id); return clear.call(window, id); };
})()"""

# Resolves once the DOM has had no mutation for ``quiet`` ms and no timer is due before
# the cap, or after ``cap`` ms; with the document's own URL, which history.pushState and
# replaceState do not change.
_QUIET_DOM_JS = """([quiet, cap]) => new Promise((resolve) => {
  const start = performance.now();
  let last = start;
  const timers = window.__tiercrawlTimers || new Map();
  const observer = new MutationObserver(() => { last = performance.now(); });
  observer.observe(document, {subtree: true, childList: true, attributes: true,
                              attributeFilter: ["href"]});
  const wait = window.setTimeout;
  const tick = () => {
    const now = performance.now();
    const timerDue = [...timers.values()].some((at) => at <= start + cap);
    if ((now - last >= quiet && !timerDue) || now - start >= cap) {
      observer.disconnect();
      flatten(document);
      const entry = performance.getEntriesByType("navigation")[0];
      resolve(entry ? entry.name : document.URL);
    } else { wait.call(window, tick, 50); }
  };
  // Shadow roots are no part of the page's HTML (page.content()), but Google sees their
  // links: each open one is copied into its host, innermost first.
  const flatten = (root) => {
    for (const host of root.querySelectorAll("*")) {
      if (!host.shadowRoot) continue;
      flatten(host.shadowRoot);
      const copy = document.createElement("div");
      copy.setAttribute("data-tiercrawl-shadow-root", "");
      copy.innerHTML = host.shadowRoot.innerHTML;
      host.appendChild(copy);
    }
  };
  wait.call(window, tick, 50);
})"""


def browser_executable(path: str) -> str | None:
    """The Chromium to launch: ``path``, else Debian's, else None (Playwright's own build)."""
    if path:
        return path
    return DEBIAN_CHROMIUM if os.path.exists(DEBIAN_CHROMIUM) else None


@dataclass(frozen=True)
class RenderConfig:
    """The rendering settings, read and checked once (``docs/rendering.md`` lists them)."""

    policy: RenderPolicy
    browser_path: str | None
    browser_args: tuple[str, ...]
    concurrency: int
    pages_per_context: int
    timeout: float
    settle: float
    quiet: float
    blocked_resources: frozenset[str]
    allowed_hosts: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderConfig:
        try:
            policy = RenderPolicy(
                mode=settings.get("TIERCRAWL_RENDER", "auto"),
                shell_text_chars=settings.getint("TIERCRAWL_RENDER_SHELL_TEXT", 200),
            )
        except ValueError as exc:
            raise UsageError(f"TIERCRAWL_RENDER: {exc}") from exc
        config = cls(
            policy=policy,
            browser_path=browser_executable(settings.get("TIERCRAWL_BROWSER_PATH", "")),
            browser_args=tuple(settings.getlist("TIERCRAWL_BROWSER_ARGS")),
            concurrency=settings.getint("TIERCRAWL_RENDER_CONCURRENCY", 4),
            pages_per_context=settings.getint("TIERCRAWL_RENDER_PAGES_PER_CONTEXT", 50),
            timeout=settings.getfloat("TIERCRAWL_RENDER_TIMEOUT", 15.0),
            settle=settings.getfloat("TIERCRAWL_RENDER_SETTLE", 5.0),
            quiet=settings.getfloat("TIERCRAWL_RENDER_QUIET", 0.5),
            blocked_resources=frozenset(settings.getlist("TIERCRAWL_RENDER_BLOCK")),
            allowed_hosts=tuple(settings.getlist("TIERCRAWL_RENDER_ALLOWED_HOSTS")),
        )
        config._check()
        return config

    def request_filter(self) -> BrowserRequestFilter:
        """What the browser may not fetch: scrapy-playwright's per-page filter, and
        tiercrawl's for what that one misses (`RenderMiddleware`)."""
        return BrowserRequestFilter(self.blocked_resources, self.allowed_hosts)

    def _check(self) -> None:
        for name, value in (
            ("TIERCRAWL_RENDER_CONCURRENCY", self.concurrency),
            ("TIERCRAWL_RENDER_PAGES_PER_CONTEXT", self.pages_per_context),
            ("TIERCRAWL_RENDER_TIMEOUT", self.timeout),
            ("TIERCRAWL_RENDER_SETTLE", self.settle),
        ):
            if value <= 0:
                raise UsageError(f"{name} must be positive, not {value}")
        if (
            self.policy.mode != "never"
            and self.browser_path
            and not os.path.exists(self.browser_path)
        ):
            raise UsageError(f"TIERCRAWL_BROWSER_PATH: {self.browser_path} does not exist")
        for host in self.allowed_hosts:
            _HostRule(host)  # fails at startup on a malformed entry


class _HostRule:
    """One ``TIERCRAWL_RENDER_ALLOWED_HOSTS`` entry: an IP network, or a domain and its subdomains."""

    def __init__(self, text: str) -> None:
        self.network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
        self.domain = text.strip().lower().lstrip(".")
        with suppress(ValueError):
            self.network = ipaddress.ip_network(self.domain, strict=False)
        if not self.domain:
            raise UsageError("TIERCRAWL_RENDER_ALLOWED_HOSTS: an empty entry")

    def allows(self, host: str) -> bool:
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        return host == self.domain or host.endswith("." + self.domain)

    def bypass_patterns(self) -> list[str]:
        """The hosts this rule allows, in Chromium's proxy bypass syntax."""
        if self.network is not None:
            return [str(self.network)]
        return [self.domain, f"*.{self.domain}"]


class BrowserRequestFilter:
    """``PLAYWRIGHT_ABORT_REQUEST``: which requests of a rendered page never leave the browser.

    Images, media and fonts (``TIERCRAWL_RENDER_BLOCK``) cost memory and time
    and carry no links; hosts outside ``TIERCRAWL_RENDER_ALLOWED_HOSTS`` (when
    set) are not contacted at all.
    """

    def __init__(self, blocked_resources: frozenset[str], allowed_hosts: tuple[str, ...]) -> None:
        self.blocked_resources = blocked_resources
        self.rules = [_HostRule(host) for host in allowed_hosts]

    def __call__(self, request: BrowserRequest) -> bool:
        if request.resource_type in self.blocked_resources:
            return True
        return bool(self.rules) and not self.allows(request.url)

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return True  # data:, blob:, about: never touch the network
        host = (parts.hostname or "").rstrip(".")
        return any(rule.allows(host) for rule in self.rules)

    def proxy_bypass(self) -> str:
        """The allowed hosts as a browser context's proxy bypass list."""
        return ",".join(pattern for rule in self.rules for pattern in rule.bypass_patterns())


class _WithoutTraceback(logging.Filter):
    """scrapy-playwright logs every failed render with its traceback, at WARNING, so a
    timed-out page printed one in ``tiercrawl crawl``: its message names the exception
    already, and tiercrawl says what became of the page (``render_reason``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


_WITHOUT_TRACEBACK = _WithoutTraceback()


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's download handler, with Playwright started on the first render.

    scrapy-playwright starts Playwright's Node driver when the engine starts:
    0.7 s of CPU and a process of its own, for nothing in a ``never`` crawl or
    an ``auto`` crawl where no page needs rendering (most pages, most crawls).
    Requests without ``meta["playwright"]`` go to Scrapy's HTTP/1.1 handler as
    before; the first one with it starts the driver, then the browser.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        crawler.signals.disconnect(self._maybe_launch_in_thread, signals.engine_started)
        logging.getLogger("scrapy-playwright").addFilter(_WITHOUT_TRACEBACK)
        self._driver_lock = asyncio.Lock()
        self._driver_started = False

    async def _download_request(self, request: scrapy.Request, spider: Any = None) -> Any:
        if not self._driver_started:
            async with self._driver_lock:
                if not self._driver_started:
                    await self._launch()
                    self._driver_started = True
        return await super()._download_request(request, spider)

    async def _apply_page_methods(self, page: Page, request: scrapy.Request, spider: Any) -> None:
        """The page methods, without scrapy-playwright's wait for the load event after each.

        A subresource that never finishes (an analytics script, an ad frame) holds
        the load event back for ever, so every such render failed with a timeout.
        `settle`, the one method a render has, bounds its own wait.
        """
        for method in request.meta.get("playwright_page_methods") or ():
            assert callable(method.method)
            method.result = await method.method(page, *method.args, **method.kwargs)


class RenderingAddon:
    """Configures scrapy-playwright from tiercrawl's rendering settings.

    Runs after the spider has set ``TIERCRAWL_RENDER`` from its ``render``
    argument and before the download handler reads its settings. Each
    ``PLAYWRIGHT_*`` value is set with the add-on priority, so a user's own
    ``PLAYWRIGHT_*`` setting still wins.
    """

    def update_settings(self, settings: Settings) -> None:
        config = RenderConfig.from_settings(settings)
        launch: dict[str, Any] = {"headless": True, "args": list(config.browser_args)}
        if config.browser_path:
            launch["executable_path"] = config.browser_path
        if proxy := browser_proxy(settings.get("TIERCRAWL_PROXY") or ""):
            launch["proxy"] = proxy
        values: dict[str, Any] = {
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": config.timeout * 1000,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": config.concurrency,
            "PLAYWRIGHT_ABORT_REQUEST": config.request_filter(),
        }
        for name, value in values.items():
            settings.set(name, value, priority="addon")
        slots = settings.getdict("DOWNLOAD_SLOTS")
        # Renders are paced by their own concurrency; AutoThrottle would read a browser's
        # latency as a slow server.
        slots.setdefault(RENDER_SLOT, {"concurrency": config.concurrency, "delay": 0})
        settings.set(
            "DOWNLOAD_SLOTS", slots, priority=max(settings.getpriority("DOWNLOAD_SLOTS") or 0, 15)
        )


class RenderCrashError(Exception):
    """The browser's renderer of the page crashed (out of memory, killed)."""


async def settle(page: Page, cap_ms: float, quiet_ms: float) -> str:
    """The wait for late links: network idle, then a quiet DOM and no timer due, within
    ``cap_ms`` in all; returns the URL of the document that was loaded.

    Navigation waits for DOM ready only; links that widgets, ``fetch()`` calls
    and timers add later arrive while the network is busy, when their timer
    fires, or shortly after. A page that never goes idle (polling, beacons) is
    taken as it is at the cap; a page whose scripts hang the main thread fails
    with TimeoutError, so the render falls back to the raw page instead of
    blocking the crawl. A renderer that crashes fails it at once with
    `RenderCrashError`: Playwright's calls on a crashed page never return.
    """
    crashed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_crash(_: Page) -> None:
        if not crashed.done():
            crashed.set_exception(RenderCrashError("the page crashed"))

    page.once("crash", on_crash)
    waiting = asyncio.ensure_future(_wait_for_late_links(page, cap_ms, quiet_ms))
    await asyncio.wait({waiting, crashed}, return_when=asyncio.FIRST_COMPLETED)
    if not waiting.done():
        waiting.cancel()
        return await crashed
    crashed.cancel()
    return await waiting


async def _wait_for_late_links(page: Page, cap_ms: float, quiet_ms: float) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cap_ms / 1000
    with suppress(PlaywrightTimeoutError):
        await page.wait_for_load_state("networkidle", timeout=cap_ms)
    left = max(deadline - loop.time(), 0.0)
    try:
        url: str = await asyncio.wait_for(
            page.evaluate(_QUIET_DOM_JS, [quiet_ms, left * 1000]), left + 1.0
        )
    except TimeoutError as exc:
        raise TimeoutError(f"the page's scripts did not yield within {cap_ms / 1000:g}s") from exc
    return url


async def _close_popup(page: Page) -> None:
    if await page.opener() is not None:
        with suppress(PlaywrightError):
            await page.close()


async def _abort(route: Route) -> None:
    await route.abort()


async def _refuse(socket: WebSocketRoute) -> None:
    await socket.close()


class RenderMiddleware:
    """Downloader middleware: makes a render request a bounded scrapy-playwright request.

    A render request gets the render download slot, a browser context shared
    by ``TIERCRAWL_RENDER_PAGES_PER_CONTEXT`` renders (default 50), images,
    media and fonts blocked, and the ``settle`` wait. A context is closed as
    soon as its last render is done, so no context lives long enough to grow;
    the handler closes pages itself. Not used with ``TIERCRAWL_RENDER=never``,
    which never starts a browser.

    With ``TIERCRAWL_RENDER_ALLOWED_HOSTS`` set, each context's proxy is a
    loopback port where nothing listens, and the allowed hosts its bypass list:
    what the browser sends anywhere else fails to connect, also the hops of a
    redirect, which the browser follows past Playwright's request routing.
    """

    def __init__(self, crawler: Crawler, config: RenderConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.request_filter = config.request_filter()
        self._generation = 0
        self._assigned = 0
        self._pending: dict[str, int] = {}
        self._contexts: dict[str, BrowserContext] = {}
        self._closed_port: socket.socket | None = None
        self.context_kwargs: dict[str, Any] = {"service_workers": "block"}
        if self.request_filter.rules:
            self._guard_hosts(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderMiddleware:
        config = RenderConfig.from_settings(crawler.settings)
        if config.policy.mode == "never":
            raise NotConfigured  # rendering is off by setting: nothing to warn of
        return cls(crawler, config)

    def _guard_hosts(self, crawler: Crawler) -> None:
        unchecked = (
            "the browser's requests to other hosts are aborted, "
            "but not the hops of the redirects it follows"
        )
        if crawler.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("proxy"):
            # A context's proxy would replace the user's.
            logger.warning(
                "TIERCRAWL_RENDER_ALLOWED_HOSTS with a browser proxy "
                "(PLAYWRIGHT_LAUNCH_OPTIONS): %s",
                unchecked,
            )
            return
        # Bound, never listening: a connection to it is refused at once, and no other
        # process can take the port while the crawl runs.
        closed_port = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            closed_port.bind(("127.0.0.1", 0))
        except OSError as exc:
            closed_port.close()
            logger.warning(
                "TIERCRAWL_RENDER_ALLOWED_HOSTS: no loopback port for the browser's proxy "
                "(%s): %s",
                exc,
                unchecked,
            )
            return
        self._closed_port = closed_port
        port = closed_port.getsockname()[1]
        self.context_kwargs["proxy"] = {
            "server": f"http://127.0.0.1:{port}",
            "bypass": self.request_filter.proxy_bypass(),
        }
        crawler.signals.connect(self._release_port, signal=signals.engine_stopped)

    def _release_port(self) -> None:
        if self._closed_port is not None:
            self._closed_port.close()

    def process_request(self, request: scrapy.Request) -> None:
        if RENDER_REASON not in request.meta:
            return
        config = self.config
        request.meta.update(
            {
                "playwright": True,
                "playwright_context": self._assign_context(),
                "playwright_context_kwargs": self.context_kwargs,
                "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"},
                "playwright_page_methods": [
                    PageMethod(settle, config.settle * 1000, config.quiet * 1000)
                ],
                "playwright_page_init_callback": self._track_context,
                "download_slot": RENDER_SLOT,
                "autothrottle_dont_adjust_delay": True,
                # A failed render falls back to the raw page; retrying a hung page only
                # doubles its cost.
                "dont_retry": True,
            }
        )

    async def process_response(self, request: scrapy.Request, response: Response) -> Response:
        await self._finished(request)
        return response

    async def process_exception(self, request: scrapy.Request, exception: Exception) -> None:
        await self._finished(request)

    def _assign_context(self) -> str:
        if self._assigned >= self.config.pages_per_context:
            self._generation += 1
            self._assigned = 0
        self._assigned += 1
        name = f"tiercrawl-{self._generation}"
        self._pending[name] = self._pending.get(name, 0) + 1
        return name

    async def _track_context(self, page: Page, request: scrapy.Request) -> None:
        name = request.meta["playwright_context"]
        context = page.context
        # What scrapy-playwright's per-page request filter does not see: the pages a
        # script or a click opens (closed at once, their requests filtered in the context),
        # and WebSockets, which may only reach the allowed hosts.
        if name not in self._contexts:
            self._contexts[name] = context
            context.on("page", _close_popup)
            if self.request_filter.rules:
                await context.route(self._refused, _abort)
        await page.add_init_script(_PAGE_JS)
        if self.request_filter.rules:
            await page.route_web_socket(self._refused, _refuse)

    def _refused(self, url: str) -> bool:
        return not self.request_filter.allows(url)

    async def _finished(self, request: scrapy.Request) -> None:
        if RENDER_REASON not in request.meta:
            return
        name = request.meta["playwright_context"]
        self._pending[name] -= 1
        current = f"tiercrawl-{self._generation}"
        full = self._assigned >= self.config.pages_per_context
        if self._pending[name] or (name == current and not full):
            return
        del self._pending[name]
        context = self._contexts.pop(name, None)
        if context is not None:
            with suppress(PlaywrightError):
                await context.close()
            self._stats_inc("tiercrawl/render/contexts_closed")

    def _stats_inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


class Renderer:
    """The spider's side of rendering: which raw pages get rendered, and which item is kept.

    Reads ``TIERCRAWL_RENDER`` (default ``auto``; the spider's ``render``
    argument overrides it) and ``TIERCRAWL_RENDER_SHELL_TEXT`` (default 200).
    Each URL still ends as exactly one item: the rendered page, or the raw
    page when the render failed, with ``render_reason`` saying so. A rendered
    page larger than ``DOWNLOAD_MAXSIZE`` is a failed render.
    """

    def __init__(self, crawler: Crawler, policy: RenderPolicy, campaign: Campaign) -> None:
        self.crawler = crawler
        self.policy = policy
        self.sites = SiteMemory()
        # A rendered page larger than a download may be is not kept (characters for bytes).
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE") or float("inf")
        self.targets: dict[str, tuple[str, ...]] = {}
        for entry in campaign.entries():
            self.targets[entry.url] = (*self.targets.get(entry.url, ()), entry.target)

    @classmethod
    def from_crawler(cls, crawler: Crawler, campaign: Campaign) -> Renderer:
        return cls(crawler, RenderConfig.from_settings(crawler.settings).policy, campaign)

    def render_request(
        self,
        response: Response,
        item: PageItem,
        callback: Callable[..., Any],
        errback: Callable[[Failure], Any],
    ) -> scrapy.Request | None:
        """The render request for a raw page that needs one, or None."""
        if item.html is None or item.final_url is None or self.policy.mode == "never":
            return None
        if self.policy.mode == "auto" and not may_need_render(item.status, item.html):
            return None
        parsed = parse_page(item.html)
        signals = scan_page(parsed, item.final_url)
        facts = RenderFacts(
            url=item.final_url,
            status=item.status,
            signals=signals,
            targets=self.targets.get(item.url, ()),
            site_needed_render=item.final_url in self.sites,
        )
        render, reason = decide_render(self.policy, facts)
        if not render:
            item.parsed = parsed  # the extraction reads the same tree: one parse a page
            return None
        self._inc("tiercrawl/render/requested")
        self._inc(f"tiercrawl/render/reason/{(reason or '').split(':')[0]}")
        meta = {key: response.meta[key] for key in _CARRIED_META if key in response.meta}
        meta.update({RENDER_REASON: reason, _RAW_ITEM: item, _RAW_SIGNALS: signals})
        return scrapy.Request(
            item.url,
            callback=callback,
            errback=errback,
            dont_filter=True,
            meta=meta,
        )

    def rendered(self, response: Response, item: PageItem) -> PageItem:
        """The item to keep once the render answered: ``item`` (rendered) or the raw one."""
        raw: PageItem = response.meta[_RAW_ITEM]
        reason: str = response.meta[RENDER_REASON]
        # The loaded document's URL (`settle`): a history.pushState since is no navigation.
        methods = response.meta.get("playwright_page_methods") or ()
        settled = methods[0].result if methods else None
        if isinstance(settled, str) and settled:
            item.final_url = settled
        html, url = item.html, item.final_url
        if html is None or url is None or (item.status or 0) >= 400 > (raw.status or 0):
            return self._fall_back(raw, reason, f"status {item.status}, {item.content_type}")
        if len(html) > self.max_size:
            # Scripts can build a page far beyond what a download may be (DOWNLOAD_MAXSIZE).
            return self._fall_back(raw, reason, f"too large, {len(html)} characters")
        if match_key(url) != match_key(raw.final_url or ""):
            # A script took the browser to another document (location.href, or an
            # error page when the navigation was blocked): its links are not this page's.
            return self._fall_back(raw, reason, f"navigated away, to {url}")
        item.rendered = True
        item.render_reason = reason
        # The render request was checked against robots.txt at the URL asked for; the raw
        # fetch, at every address it was redirected to.
        item.googlebot_allowed = raw.googlebot_allowed
        item.raw_html = raw.html
        item.raw_url = raw.final_url
        item.parsed = parse_page(html)
        if self.sites.learn(url, response.meta[_RAW_SIGNALS], scan_page(item.parsed, url)):
            self._inc("tiercrawl/render/revealed_links")
        self._inc("tiercrawl/render/rendered")
        return item

    def failed(self, failure: Failure) -> PageItem:
        """The raw item of a page whose render failed, its reason saying why."""
        meta = failure.request.meta  # type: ignore[attr-defined]
        names = [cls.__name__ for cls in type(failure.value).__mro__]
        why = error_reason(names, str(failure.value))
        logger.info(
            "render of %s failed (%s): %r",
            meta["tiercrawl_url"],
            why,
            failure.value,
            extra={"spider": self.crawler.spider},
        )
        return self._fall_back(meta[_RAW_ITEM], meta[RENDER_REASON], why)

    def _fall_back(self, raw: PageItem, reason: str, why: str) -> PageItem:
        self._inc(f"tiercrawl/render/failed/{why.split(',')[0].replace(' ', '_')}")
        raw.render_reason = f"{reason}{RENDER_FAILED}{why}"
        return raw

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)
