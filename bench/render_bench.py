"""Rendering throughput and memory: ``never`` vs ``auto`` vs ``always`` on one local web.

Usage: ``.venv/bin/python bench/render_bench.py [--sites 10] [--pages 50] [--js-every 10]``

Serves ``sites`` x ``pages`` review pages on loopback (127.0.0.20, ...); every
``js-every``-th page gets its target link only from JavaScript (innerHTML,
createElement, a 300 ms setTimeout or a fetch() of JSON, in turn), the others
carry it in the raw HTML, half of them next to a harmless script. Each mode
crawls the same campaign with ``scrapy crawl tiers`` in a subprocess, into a
SecantusDB server. Prints pages/s per mode, auto's recall of the JavaScript-
inserted targets and the pages it rendered, and, during the ``always`` crawl,
the peak memory of the crawl's whole process tree (Scrapy, Playwright's
driver, Chromium) after 100 rendered pages and at the end. Memory is the sum
of RSS (counts shared pages once per process, so it overstates) and of PSS
(shared pages split between processes) from ``/proc``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tiercrawl.demo.webserver import Site
from tiercrawl.store import open_store
from tiercrawl.store.embedded import start_server

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "<p>We tested this cordless drill for three weeks on real job sites, timing the battery, "
    "measuring torque and checking how the chuck held up under load. </p>"
) * 6
JS_KINDS = {
    "inner": "document.getElementById('pick').innerHTML = '<a href=\"{t}\">Acme drill</a>';",
    "create": (
        "document.addEventListener('DOMContentLoaded', function () {{"
        " var a = document.createElement('a'); a.href = '{t}'; a.textContent = 'Acme drill';"
        " document.getElementById('pick').appendChild(a); }});"
    ),
    "timer": (
        "setTimeout(function () {{ document.getElementById('pick').innerHTML ="
        " '<a href=\"{t}\">Acme drill</a>'; }}, 300);"
    ),
    "fetch": (
        "fetch('/pick.json').then(function (r) {{ return r.json(); }}).then(function (p) {{"
        " document.getElementById('pick').innerHTML = '<a href=\"' + p.href + '\">Acme drill</a>';"
        " }});"
    ),
}


def build_web(
    sites: int, pages: int, js_every: int
) -> tuple[list[Site], Site, list[str], set[str]]:
    money = Site("127.0.0.30")
    money.add("/product/", "<title>Acme drill</title><h1>Acme drill</h1><p>18 V.</p>")
    target = money.url("/product/")
    webs, urls, js_urls = [], [], set()
    kinds = list(JS_KINDS)
    for s in range(sites):
        site = Site(f"127.0.0.{20 + s}")
        site.add("/pick.json", f'{{"href": "{target}"}}', content_type="application/json")
        for p in range(pages):
            n = s * pages + p
            head = f"<title>Review {n}</title>"
            if n % js_every == 0:
                script = JS_KINDS[kinds[(n // js_every) % len(kinds)]].format(t=target)
                body = f'{TEXT}<p id="pick"></p><script>{script}</script>'
                js_urls.add(site.url(f"/r/{p}"))
            else:
                body = f'{TEXT}<p>Our pick: <a href="{target}">Acme drill</a></p>'
                if n % 2:
                    head += "<script>window.dataLayer = [];</script>"
            site.add(
                f"/r/{p}", f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
            )
            urls.append(site.url(f"/r/{p}"))
        webs.append(site.start())
    money.start()
    return webs, money, urls, js_urls


def campaign_yaml(name: str, money: Site, urls: list[str]) -> str:
    lines = [f"name: {name}", f"money_site: {money.base}/", "tier1:"]
    target = money.url("/product/")
    for url in urls:
        lines += [f"  - url: {url}", f"    target: {target}"]
    return "\n".join(lines) + "\n"


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def tree_memory(pid: int) -> tuple[int, int]:
    """Sum of RSS and of PSS, in bytes, over ``pid`` and all its descendants."""
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(_children(current))
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


class MemoryWatch(threading.Thread):
    """Samples the crawl's process tree; notes the peak once ``mark`` pages were rendered."""

    def __init__(self, pid: int, sites: list[Site], mark: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.sites, self.mark = pid, sites, mark
        self.peak = (0, 0)
        self.peak_at_mark: tuple[int, int] | None = None
        self.rendered = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss, pss = tree_memory(self.pid)
            self.peak = (max(self.peak[0], rss), max(self.peak[1], pss))
            # A rendered page is fetched twice: raw, then by the browser.
            self.rendered = sum(
                1
                for site in self.sites
                for path, n in site.hits.items()
                if path.startswith("/r/") and n >= 2
            )
            if self.peak_at_mark is None and self.rendered >= self.mark:
                self.peak_at_mark = self.peak
            time.sleep(0.25)


def crawl(
    mode: str, campaign: Path, uri: str, settings: dict[str, str], sites: list[Site], mark: int
) -> tuple[float, MemoryWatch]:
    args = [sys.executable, "-m", "scrapy", "crawl", "tiers", "-a", f"campaign={campaign}"]
    args += ["-a", f"render={mode}"]
    for name, value in settings.items():
        args += ["-s", f"{name}={value}"]
    env = {**os.environ, "TIERCRAWL_MONGO_URI": uri, "PYTHONPATH": str(ROOT)}
    for site in sites:
        site.hits.clear()
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    watch = MemoryWatch(proc.pid, sites, mark)
    watch.start()
    _, err = proc.communicate()
    watch.stop.set()
    watch.join()
    if proc.returncode:
        raise SystemExit(f"{mode} crawl failed:\n{err[-3000:]}")
    return time.perf_counter() - start, watch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--pages", type=int, default=50, help="pages per site")
    parser.add_argument("--js-every", type=int, default=10)
    parser.add_argument(
        "--mark", type=int, default=100, help="rendered pages at the first memory mark"
    )
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    sites, money, urls, js_urls = build_web(args.sites, args.pages, args.js_every)
    tmp = Path(tempfile.mkdtemp(prefix="render-bench-"))
    server = start_server(tmp / "mongo")
    settings = {
        "AUTOTHROTTLE_ENABLED": "False",
        "LOG_LEVEL": "WARNING",
        "TIERCRAWL_RENDER_ALLOWED_HOSTS": "127.0.0.0/8",
        **dict(pair.split("=", 1) for pair in args.set),
    }
    pages = len(urls) + 1  # and the target page
    print(f"{pages} pages on {args.sites} sites, {len(js_urls)} with JavaScript-only targets")
    print(f"settings: {settings}")
    results: dict[str, float] = {}
    for mode in ("never", "auto", "always"):
        name = f"bench-{mode}"
        campaign = tmp / f"{name}.yaml"
        campaign.write_text(campaign_yaml(name, money, urls), encoding="utf-8")
        uri = f"{str(server.uri).rstrip('/')}/{name.replace('-', '_')}"
        wall, watch = crawl(mode, campaign, uri, settings, sites, args.mark)
        store = open_store(uri)
        run = store.latest_run(name)
        assert run is not None
        stats = run["stats"]
        crawl_time = stats.get("elapsed_time_seconds", wall)
        results[mode] = pages / crawl_time
        rendered = {p["url"] for p in store.pages.find({"run_id": run["_id"], "rendered": True})}
        found = {
            p["url"]
            for p in store.placements.find({"run_id": run["_id"], "found": True}, {"url": 1})
        }
        print(
            f"{mode:>6}: {crawl_time:6.1f} s crawl ({wall:5.1f} s wall), "
            f"{results[mode]:6.1f} pages/s, rendered {len(rendered)}, "
            f"JS targets found {len(js_urls & found)}/{len(js_urls)}"
        )
        if mode == "auto":
            print(
                f"        auto recall {len(js_urls & found) / len(js_urls):.0%}, "
                f"rendered pages without JS-only target: {len(rendered - js_urls)}, "
                f"render failures: {sum(v for k, v in stats.items() if k.startswith('tiercrawl/render/failed'))}"
            )
        if mode == "always":
            mib = 1024 * 1024
            mark = watch.peak_at_mark or (0, 0)
            print(
                f"        memory of the process tree, peak after {args.mark} rendered pages: "
                f"RSS {mark[0] / mib:.0f} MiB, PSS {mark[1] / mib:.0f} MiB; "
                f"after {watch.rendered}: RSS {watch.peak[0] / mib:.0f} MiB, "
                f"PSS {watch.peak[1] / mib:.0f} MiB "
                f"(+{(watch.peak[1] / max(mark[1], 1) - 1):.0%} PSS); "
                f"contexts {stats.get('playwright/context_count')}, "
                f"closed {stats.get('tiercrawl/render/contexts_closed')}"
            )
        store.close()
    print(
        f"auto is {results['auto'] / results['always']:.1f}x faster than always, "
        f"{results['never'] / results['auto']:.1f}x slower than never"
    )
    server.stop()
    for site in [*sites, money]:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
