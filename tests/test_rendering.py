"""Rendering end to end: real crawls of the JavaScript test web with a real Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import signals
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from tests.conftest import chromium_path, scrapy_crawl
from tests.forward_proxy import ForwardProxy
from tests.jssite import PAGES, JsWeb, require_browser
from tiercrawl import settings as project_settings
from tiercrawl.demo.webserver import Site
from tiercrawl.exceptions import UsageError
from tiercrawl.rendering import (
    RENDER_SLOT,
    BrowserRequestFilter,
    RenderConfig,
    RenderCrashError,
    RenderingAddon,
    RenderMiddleware,
    settle,
)
from tiercrawl.store import Store, open_store

RENDER_SETTINGS = {
    "TIERCRAWL_RENDER_TIMEOUT": "5",
    "TIERCRAWL_RENDER_SETTLE": "5",
    # Chromium may only talk to the loopback test web.
    "TIERCRAWL_RENDER_ALLOWED_HOSTS": "127.0.0.0/8,localhost",
}
TIMED_OUT = (
    "target_absent: 1 of 1 expected links not in the raw HTML, 1 scripts; render failed: timeout"
)


class Crawl:
    def __init__(self, store: Store, run: dict[str, Any], web: JsWeb) -> None:
        self.store, self.run, self.web = store, run, web
        self.stats: dict[str, Any] = run["stats"]
        self.log = ""

    def page(self, name: str) -> dict[str, Any]:
        url = self.web.url(name) if name != "product" else self.web.target
        docs = list(self.store.pages.find({"run_id": self.run["_id"], "url": url}))
        assert len(docs) == 1, f"{url}: {len(docs)} pages documents"
        return docs[0]

    def links(self, name: str) -> list[dict[str, Any]]:
        query = {"run_id": self.run["_id"], "source_url": self.web.url(name)}
        return list(self.store.links.find(query).sort("position", 1))

    def rendered(self) -> set[str]:
        return {name for name in [*PAGES, "product"] if self.page(name)["rendered"]}


@pytest.fixture(scope="module")
def jsweb() -> Iterator[JsWeb]:
    with JsWeb() as web:
        yield web


def _crawl(
    web: JsWeb, mongo_server: str, tmp: Path, mode: str, **settings: str
) -> Iterator[Crawl]:
    require_browser()
    campaign = tmp / f"js-{mode}.yaml"
    campaign.write_text(web.campaign_yaml(f"js-{mode}"), encoding="utf-8")
    uri = f"{mongo_server}/render_{mode}"
    hits_before = dict(web.js.hits)
    result = scrapy_crawl(
        campaign, uri, "-a", f"render={mode}", settings={**RENDER_SETTINGS, **settings}
    )
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(uri)
    run = store.latest_run(f"js-{mode}")
    assert run is not None, result.stderr[-4000:]
    crawl = Crawl(store, run, web)
    crawl.log = result.stderr
    crawl.hits = {k: v - hits_before.get(k, 0) for k, v in web.js.hits.items()}  # type: ignore[attr-defined]
    yield crawl
    store.close()


@pytest.fixture(scope="module")
def auto(
    jsweb: JsWeb, mongo_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawl]:
    yield from _crawl(jsweb, mongo_server, tmp_path_factory.mktemp("auto"), "auto")


@pytest.fixture(scope="module")
def always(
    jsweb: JsWeb, mongo_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawl]:
    yield from _crawl(
        jsweb,
        mongo_server,
        tmp_path_factory.mktemp("always"),
        "always",
        TIERCRAWL_RENDER_PAGES_PER_CONTEXT="3",
    )


@pytest.fixture(scope="module")
def never(
    jsweb: JsWeb, mongo_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawl]:
    yield from _crawl(jsweb, mongo_server, tmp_path_factory.mktemp("never"), "never")


# --- auto ------------------------------------------------------------------------------


@pytest.mark.requires_browser
def test_auto_renders_exactly_the_pages_that_need_it(auto: Crawl) -> None:
    assert auto.rendered() == {
        *("inner", "create", "late", "timer", "fetched", "shell", "swap", "comments"),
        *("subhang", "pushstate", "shadow"),
    }
    # Not rendered: links present raw, no script, an error page, the target page, and the
    # page whose render timed out.
    for name in ("static", "scripted", "removed", "gone", "product"):
        assert auto.page(name)["render_reason"] is None, name
    assert auto.stats["tiercrawl/render/requested"] == 14
    assert auto.stats["tiercrawl/render/rendered"] == 11
    # Playwright's driver started once, for the first render.
    assert auto.log.count("Starting download handler") == 1


@pytest.mark.requires_browser
def test_auto_says_why_each_page_was_rendered(auto: Crawl) -> None:
    absent = "target_absent: 1 of 1 expected links not in the raw HTML, 1 scripts"
    for name in ("create", "late", "timer", "fetched", "swap", "pushstate", "shadow"):
        assert auto.page(name)["render_reason"] == absent, name
    assert auto.page("inner")["render_reason"] == absent.replace("1 scripts", "2 scripts")
    assert auto.page("shell")["render_reason"] == "app_shell: #root, 0 characters of text"
    assert (
        auto.page("comments")["render_reason"]
        == "noscript: Please enable JavaScript to view the comments."
    )


@pytest.mark.parametrize(
    "name",
    [
        *("inner", "create", "late", "fetched", "shell", "swap"),
        # A timer due after the network and the DOM went quiet; a subresource that never
        # loads, so the load event never comes; the URL rewritten with history.replaceState;
        # a shadow root, which the page's HTML leaves out.
        *("timer", "subhang", "pushstate", "shadow"),
    ],
)
@pytest.mark.requires_browser
def test_auto_finds_script_inserted_targets_as_rendered_only(auto: Crawl, name: str) -> None:
    targets = [link for link in auto.links(name) if link["url"] == auto.web.target]
    assert len(targets) == 1, auto.links(name)
    assert targets[0]["rendered_only"] is True
    assert targets[0]["anchor_text"] == "Acme cordless drill"
    placement = auto.store.placements.find_one(
        {"run_id": auto.run["_id"], "url": auto.web.url(name)}
    )
    assert placement is not None
    assert placement["found"] is True


@pytest.mark.requires_browser
def test_auto_keeps_raw_links_raw_and_reports_removed_ones(auto: Crawl) -> None:
    comments = {link["url"]: link["rendered_only"] for link in auto.links("comments")}
    assert comments == {auto.web.target: False, auto.web.url("my-drill-blog"): True}
    swap = auto.page("swap")
    assert [link["url"] for link in swap["removed_links"]] == [auto.web.url("partner")]
    assert swap["removed_links"][0]["anchor_text"] == "Partner tools"
    assert auto.web.url("partner") not in {link["url"] for link in auto.links("swap")}
    assert auto.page("static")["removed_links"] == []


@pytest.mark.requires_browser
@pytest.mark.parametrize("name", ["hang", "stall"])
def test_a_timed_out_render_falls_back_to_the_raw_page(auto: Crawl, name: str) -> None:
    # hang: navigation never reaches DOM ready; stall: the page hangs during the wait.
    page = auto.page(name)
    assert (page["rendered"], page["status"], page["error"]) == (False, 200, None)
    assert page["render_reason"] == TIMED_OUT
    assert [(link["url"], link["rendered_only"]) for link in auto.links(name)] == [
        (auto.web.url("static"), False)
    ]
    assert auto.stats["tiercrawl/render/failed/timeout"] == 2


@pytest.mark.requires_browser
def test_a_url_rewritten_by_the_history_api_is_no_navigation(auto: Crawl) -> None:
    page = auto.page("pushstate")
    assert (page["rendered"], page["final_url"]) == (True, auto.web.url("pushstate"))


@pytest.mark.requires_browser
def test_a_render_that_navigates_away_keeps_the_raw_page(auto: Crawl) -> None:
    # The landing page a script went to has the target link; this page does not.
    page = auto.page("jsnav")
    landing = auto.web.money.url("/landing")
    assert (page["rendered"], page["final_url"]) == (False, auto.web.url("jsnav"))
    assert page["render_reason"].endswith(f"; render failed: navigated away, to {landing}")
    assert [link["url"] for link in auto.links("jsnav")] == [auto.web.url("static")]
    placement = auto.store.placements.find_one(
        {"run_id": auto.run["_id"], "url": auto.web.url("jsnav")}
    )
    assert placement is not None
    # Its links may come from scripts, and they did not run: no verdict.
    assert placement["status"] == "inconclusive"
    assert placement["reason"].startswith(
        f"page not read: its render failed (navigated away, to {landing}; rendered for "
        "target_absent: "
    )


def _crawl_one(
    jsweb: JsWeb, name: str, mongo_uri: str, tmp_path: Path, **settings: str
) -> dict[str, Any]:
    """The ``pages`` document of a crawl (render auto, ``settings`` added) of the one page
    ``name``."""
    require_browser()
    campaign = tmp_path / "one.yaml"
    campaign.write_text(
        f"name: one\nmoney_site: {jsweb.money.base}/\ntier1:\n"
        f"  - url: {jsweb.url(name)}\n    target: {jsweb.target}\n",
        encoding="utf-8",
    )
    result = scrapy_crawl(
        campaign, mongo_uri, "-a", "render=auto", settings={**RENDER_SETTINGS, **settings}
    )
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(mongo_uri)
    page = store.pages.find_one({"url": jsweb.url(name)})
    placement = store.placements.find_one({"url": jsweb.url(name)})
    store.close()
    assert page is not None
    assert placement is not None
    return {**page, "placement": placement}


@pytest.mark.requires_browser
def test_a_rendered_page_keeps_googlebots_verdict_where_its_redirect_led(
    jsweb: JsWeb, mongo_uri: str, tmp_path: Path
) -> None:
    page = _crawl_one(jsweb, "to-closed", mongo_uri, tmp_path)
    assert (page["rendered"], page["final_url"]) == (True, jsweb.url("closed/create"))
    assert page["googlebot_allowed"] is False
    assert page["placement"]["status"] == "not_indexable"


@pytest.mark.requires_browser
def test_a_rendered_page_goes_through_the_proxy_too(
    jsweb: JsWeb, mongo_uri: str, tmp_path: Path
) -> None:
    with ForwardProxy("127.0.0.14", "tier", "s3cret") as proxy:
        page = _crawl_one(
            jsweb, "create", mongo_uri, tmp_path, TIERCRAWL_PROXY=proxy.url("tier:s3cret@")
        )
    assert (page["rendered"], page["placement"]["found"]) == (True, True)
    sent = [authorization for url, authorization in proxy.requests if url == jsweb.url("create")]
    # Fetched raw by Scrapy, then by the browser, each time with the proxy's credentials
    # (the browser sends them once the proxy asks: a 407 first).
    assert sent.count(proxy.authorization) == 2, proxy.requests


@pytest.mark.requires_browser
def test_a_rendered_page_larger_than_a_download_may_be_is_not_kept(
    jsweb: JsWeb, mongo_uri: str, tmp_path: Path
) -> None:
    page = _crawl_one(jsweb, "bloat", mongo_uri, tmp_path)
    assert page["rendered"] is False  # DOWNLOAD_MAXSIZE is 100000 in the tests
    assert re.search(r"; render failed: too large, 2\d{5} characters$", page["render_reason"])
    assert page["placement"]["status"] == "inconclusive"


@pytest.mark.requires_browser
def test_the_browser_fetches_no_images_and_no_foreign_host(auto: Crawl) -> None:
    assert "/pixel.png" not in auto.hits  # type: ignore[attr-defined]
    # The image and the script on 192.0.2.1 (inner.html) were aborted in the browser.
    assert auto.stats["playwright/request_count/aborted"] == 2
    assert auto.hits["/links.json"] == 1  # type: ignore[attr-defined]
    assert auto.stats["playwright/page_count"] == auto.stats["playwright/page_count/closed"]


@pytest.mark.requires_browser
def test_popups_web_sockets_and_redirects_reach_no_host_beyond_the_allowed_ones(
    jsweb: JsWeb, mongo_uri: str, tmp_path: Path
) -> None:
    require_browser()
    with Site("127.0.0.13") as foreign:
        jsweb.js.add("/popup", jsweb.page("popup.html", foreign=foreign.base))
        # Allowed URLs that redirect to the foreign host: the browser follows such hops
        # itself, past Playwright's request routing.
        for hop in ("frame", "fetched"):
            jsweb.js.redirect(f"/to-foreign/{hop}", f"{foreign.base}/{hop}")
        campaign = tmp_path / "popup.yaml"
        campaign.write_text(
            f"name: popup\nmoney_site: {jsweb.money.base}/\ntier1:\n"
            f"  - url: {jsweb.url('popup')}\n    target: {jsweb.target}\n",
            encoding="utf-8",
        )
        allowed = {"TIERCRAWL_RENDER_ALLOWED_HOSTS": "127.0.0.5,127.0.0.6"}
        result = scrapy_crawl(
            campaign, mongo_uri, "-a", "render=always", settings={**RENDER_SETTINGS, **allowed}
        )
        assert result.returncode == 0, result.stderr[-4000:]
        # window.open, a scripted click on a target=_blank link, a WebSocket, the hops of
        # two redirects (an iframe's, a fetch()'s): none got out.
        assert foreign.hits == {}, result.stderr[-6000:]
    store = open_store(mongo_uri)
    page = store.pages.find_one({"url": jsweb.url("popup")})
    store.close()
    assert page is not None
    assert (page["rendered"], page["render_reason"]) == (True, "always")


@pytest.mark.requires_browser
def test_a_crashed_renderer_fails_the_wait_at_once() -> None:
    from playwright.async_api import async_playwright

    require_browser()

    async def crash_while_settling() -> None:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_path(), args=list(project_settings.TIERCRAWL_BROWSER_ARGS)
            )
            try:
                page = await browser.new_page()
                # The DOM never goes quiet: the wait would last its whole 30 s cap.
                await page.set_content(
                    "<p id=x></p><script>setInterval(() => { x.textContent = Date.now(); }, 20)"
                    "</script>"
                )
                cdp = await page.context.new_cdp_session(page)
                waiting = asyncio.ensure_future(settle(page, 30_000, 500))
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):  # the session dies with its page
                    await asyncio.wait_for(cdp.send("Page.crash"), 2)
                with pytest.raises(RenderCrashError):
                    await asyncio.wait_for(waiting, 10)
            finally:
                await browser.close()

    asyncio.run(crash_while_settling())


# --- always / never --------------------------------------------------------------------


@pytest.mark.requires_browser
def test_always_renders_every_html_page_and_recycles_contexts(always: Crawl) -> None:
    reasons = {name: always.page(name)["render_reason"] for name in PAGES}
    assert always.rendered() == {*PAGES, "product"} - {"hang", "stall", "jsnav"}, reasons
    assert always.page("static")["render_reason"] == "always"
    assert always.page("hang")["render_reason"] == "always; render failed: timeout"
    # scrapy-playwright's warning of each failed render, without its traceback.
    assert "Closing page due to failed request" in always.log
    assert "Traceback" not in always.log
    # 19 renders, 3 per context: 7 contexts, the 6 full ones closed once their renders were
    # done; the last, with one render, by the handler at the end.
    assert always.stats["playwright/context_count"] == 7
    assert always.stats["tiercrawl/render/contexts_closed"] == 6
    assert always.stats["playwright/page_count"] == always.stats["playwright/page_count/closed"]
    # TIERCRAWL_RENDER_CONCURRENCY (4) pages open at most, also while contexts overlap.
    assert always.stats["playwright/page_count/max_concurrent"] == 4


@pytest.mark.requires_browser
def test_always_reports_a_target_link_that_scripts_remove(always: Crawl) -> None:
    removed = always.page("removed")
    assert [link["url"] for link in removed["removed_links"]] == [always.web.target]
    assert always.web.target not in {link["url"] for link in always.links("removed")}
    assert all(not link["rendered_only"] for link in always.links("static"))


@pytest.mark.requires_browser
def test_never_renders_nothing_and_starts_no_browser(never: Crawl) -> None:
    assert never.rendered() == set()
    assert all(never.page(name)["render_reason"] is None for name in PAGES)
    assert not any(key.startswith(("playwright/", "tiercrawl/render/")) for key in never.stats)
    assert never.hits.get("/links.json", 0) == 0  # type: ignore[attr-defined]
    assert "Starting download handler" not in never.log  # nor Playwright's Node driver


# --- settings --------------------------------------------------------------------------


def _settings(**values: Any) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    for name, value in values.items():
        settings.set(name, value, priority="cmdline")
    return settings


def test_addon_configures_scrapy_playwright(tmp_path: Path) -> None:
    browser = tmp_path / "chrome"
    browser.write_text("")
    settings = _settings(TIERCRAWL_BROWSER_PATH=str(browser), TIERCRAWL_RENDER_CONCURRENCY=6)
    settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 1234, priority="project")
    RenderingAddon().update_settings(settings)
    launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert launch["executable_path"] == str(browser)
    assert "--disable-background-networking" in launch["args"]
    assert settings.getint("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT") == 6
    assert settings.getdict("DOWNLOAD_SLOTS")[RENDER_SLOT] == {"concurrency": 6, "delay": 0}
    # A user's own PLAYWRIGHT_* setting wins over the translated one.
    assert settings.getint("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT") == 1234


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"TIERCRAWL_RENDER": "sometimes"}, "expected one of auto, always, never"),
        ({"TIERCRAWL_BROWSER_PATH": "/nonexistent/chromium"}, "does not exist"),
        ({"TIERCRAWL_RENDER_PAGES_PER_CONTEXT": 0}, "must be positive"),
        ({"TIERCRAWL_RENDER_ALLOWED_HOSTS": [" "]}, "an empty entry"),
    ],
)
def test_bad_rendering_settings_fail_at_startup(values: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RenderConfig.from_settings(_settings(**values))


def test_request_filter_blocks_heavy_types_and_foreign_hosts() -> None:
    keep = BrowserRequestFilter(frozenset({"image"}), ("127.0.0.0/8", "example.org"))

    class Req:
        def __init__(self, url: str, resource_type: str = "script") -> None:
            self.url, self.resource_type = url, resource_type

    assert keep(Req("http://127.0.0.9:81/x.png", "image"))  # type: ignore[arg-type]
    assert not keep(Req("http://127.0.0.9:81/app.js"))  # type: ignore[arg-type]
    assert not keep(Req("https://cdn.example.org/app.js"))  # type: ignore[arg-type]
    assert keep(Req("https://example.org.evil.test/app.js"))  # type: ignore[arg-type]
    assert keep(Req("http://192.0.2.1/widget.js"))  # type: ignore[arg-type]
    assert not keep(Req("data:text/javascript,1"))  # type: ignore[arg-type]


def test_the_allowed_hosts_become_a_proxy_bypass_list() -> None:
    allowed = BrowserRequestFilter(
        frozenset(), ("127.0.0.0/8", "Example.org", "::1", ".localhost")
    )
    assert allowed.proxy_bypass() == (
        "127.0.0.0/8,example.org,*.example.org,::1/128,localhost,*.localhost"
    )


def test_a_context_sends_other_hosts_to_a_port_where_nothing_listens() -> None:
    settings = {**RENDER_SETTINGS, "TIERCRAWL_RENDER_ALLOWED_HOSTS": "127.0.0.5,example.org"}
    crawler = get_crawler(settings_dict=settings)
    middleware = RenderMiddleware.from_crawler(crawler)
    proxy = middleware.context_kwargs["proxy"]
    assert proxy["bypass"] == "127.0.0.5/32,example.org,*.example.org"
    host, port = proxy["server"].removeprefix("http://").split(":")
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect((host, int(port)))
    assert middleware.context_kwargs["service_workers"] == "block"
    crawler.signals.send_catch_log(signals.engine_stopped)


def test_without_a_loopback_port_the_hops_go_unchecked_with_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: socket.socket, address: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    middleware = RenderMiddleware.from_crawler(get_crawler(settings_dict=RENDER_SETTINGS))
    assert "proxy" not in middleware.context_kwargs
    assert "no loopback port for the browser's proxy ([Errno 13] Permission denied)" in (
        caplog.text
    )


def test_a_browser_proxy_of_the_users_own_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    launch = {"proxy": {"server": "http://127.0.0.1:3128"}}
    crawler = get_crawler(settings_dict={**RENDER_SETTINGS, "PLAYWRIGHT_LAUNCH_OPTIONS": launch})
    middleware = RenderMiddleware.from_crawler(crawler)
    assert "proxy" not in middleware.context_kwargs
    assert "not the hops of the redirects it follows" in caplog.text


def test_without_allowed_hosts_a_context_has_no_proxy() -> None:
    middleware = RenderMiddleware.from_crawler(get_crawler(settings_dict={}))
    assert middleware.context_kwargs == {"service_workers": "block"}
