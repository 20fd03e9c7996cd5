"""A loopback web whose links JavaScript inserts, removes or never gets to run.

``JsWeb`` serves the pages of this folder: a review site on 127.0.0.5 whose
tier-1 pages should link to a product page on 127.0.0.6. ``PAGES`` says how
each page behaves, and ``require_browser`` skips a test without Chromium,
except under CI, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from string import Template

import pytest

from tiercrawl.demo.webserver import Site, Web
from tiercrawl.rendering import browser_executable

HERE = Path(__file__).parent

# page -> how its target link (money /product/) gets there
PAGES = {
    "static": "in the raw HTML, no script",
    "scripted": "in the raw HTML, the page runs a script",
    "inner": "inserted with innerHTML",
    "create": "inserted with createElement on DOMContentLoaded",
    "late": "inserted by a setTimeout 700 ms after load",
    "timer": "inserted by a setTimeout 2 s after load, after the network and DOM went quiet",
    "subhang": "inserted at once; an async script and an iframe never finish loading",
    "pushstate": "inserted at once; the script then rewrites the URL with replaceState",
    "shadow": "inserted into an open shadow root",
    "fetched": "inserted from a fetch() of /links.json",
    "shell": "an app shell: #root filled by /app.js",
    "swap": "inserted by a script that also removes a raw partner link",
    "removed": "in the raw HTML, removed by a script",
    "comments": "in the raw HTML; a <noscript> asks for JavaScript, comments add a link",
    "hang": "absent; a script never returns, so rendering times out",
    "stall": "absent; a timer hangs the page after DOM ready, so the wait times out",
    "jsnav": "absent; a script navigates to another page, which has the link",
    "gone": "a 404 page that runs scripts",
}


class JsWeb(Web):
    def __init__(self) -> None:
        self.js = Site("127.0.0.5")
        self.money = Site("127.0.0.6")
        super().__init__(js=self.js, money=self.money)
        self.target = self.money.url("/product/")
        for name in PAGES:
            if name not in ("gone", "late", "timer"):
                self.js.add(f"/{name}", self.page(f"{name}.html"))
        self.js.add("/late", self.page("late.html", delay="700"))
        self.js.add("/timer", self.page("late.html", delay="2000"))
        self.js.add("/gone", "<title>Gone</title><script>1</script>", status=404)
        # Not in PAGES: its script builds a page larger than the tests' DOWNLOAD_MAXSIZE.
        self.js.add("/bloat", self.page("bloat.html"))
        # Not in PAGES either: a redirect to a page robots.txt closes to Googlebot alone.
        self.js.add("/robots.txt", "User-agent: Googlebot\nDisallow: /closed/\n")
        self.js.redirect("/to-closed", "/closed/create")
        self.js.add("/closed/create", self.page("create.html"))
        self.js.add("/links.json", self.page("links.json"), content_type="application/json")
        self.js.add("/app.js", self.page("app.js"), content_type="text/javascript")
        self.js.add("/pixel.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
        self.js.add("/never.js", "1", content_type="text/javascript", delay=60)
        self.money.add("/product/", self.page("product.html"))
        self.money.add("/landing", f'<p>Landing. <a href="{self.target}">Acme drills</a></p>')

    def page(self, name: str, **values: str) -> str:
        text = (HERE / name).read_text(encoding="utf-8")
        return Template(text).substitute(js=self.js.base, money=self.money.base, **values)

    def url(self, name: str) -> str:
        return self.js.url(f"/{name}")

    def campaign_yaml(self, name: str = "js-web") -> str:
        lines = [f"name: {name}", f"money_site: {self.money.base}/", "tier1:"]
        for page in PAGES:
            lines += [f"  - url: {self.url(page)}", f"    target: {self.target}"]
        return "\n".join(lines) + "\n"


def browser_available() -> bool:
    """Debian's or a configured Chromium, or a browser ``playwright install`` downloaded."""
    path = browser_executable(os.environ.get("TIERCRAWL_BROWSER_PATH", ""))
    if path:
        return os.path.exists(path)
    cache = Path(
        os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright"
    )
    return any(cache.glob("chromium*"))


def require_browser() -> None:
    if browser_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("no Chromium: CI must run the rendering tests (scripts/setup installs it)")
    pytest.skip("no Chromium (install Debian's chromium or run `playwright install chromium`)")
