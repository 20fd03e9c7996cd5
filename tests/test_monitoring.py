"""Monitoring end to end: a local web whose pages change between real crawls.

Its own sites on 127.0.0.10-11, so the shared test web stays as other tests read it.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_CRAWL_SETTINGS, scrapy_crawl, setting_args, tiercrawl
from tiercrawl.cli import main
from tiercrawl.demo.webserver import LocalHTTPServer, Site, Web
from tiercrawl.jobs.retention import RUN_COLLECTIONS
from tiercrawl.store import Store, open_store
from tiercrawl.webhook import WebhookError, deliver

FILLER = (
    "We spent three weeks testing drills on brick, hardwood and steel in a small workshop, "
    "timing every hole, weighing every tool and noting how the batteries held up in the cold. "
)
CAMPAIGN = "monitor"
# The blog's posts that link to the money site's /drills/ in the first crawl.
PATHS = ("/removed", "/retarget", "/rel", "/footer", "/noindex", "/busy", "/limited", "/stable")


def post(body: str, footer: str = "", head: str = "") -> str:
    return (
        f"<!doctype html><html lang='en'><head><title>Drill review</title>{head}</head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/reviews'>Reviews</a></nav></header>"
        f"<article><h1>Drill review</h1><p>{FILLER}</p><p>{body}</p><p>{FILLER}</p></article>"
        f"<footer><a href='/about'>About us</a> {footer}</footer></body></html>"
    )


class MonitorWeb(Web):
    """A money site and a blog whose posts link to it; `change` makes the second crawl's web."""

    def __init__(self) -> None:
        self.money = Site("127.0.0.10")
        self.blog = Site("127.0.0.11")
        super().__init__(money=self.money, blog=self.blog)
        self.build()

    def link(
        self, path: str = "/drills/", rel: str = "", text: str = "Acme cordless drills"
    ) -> str:
        rel_attr = f" rel='{rel}'" if rel else ""
        return f"<a href='{self.money.base}{path}'{rel_attr}>{text}</a>"

    def build(self) -> None:
        money, blog, link = self.money, self.blog, self.link
        money.add("/drills/", post("Acme cordless drills for every job."))
        money.add("/kit/", post("The Acme drill kit."))
        for path in PATHS:
            blog.add(path, post(f"Our favourite is the {link()} range, light and strong."))
        blog.add("/kit-post", post(f"Get the {link('/kit/', text='Acme drill kit')} today."))

    def change(self) -> None:
        money, blog, link = self.money, self.blog, self.link
        blog.add("/removed", post("Our favourite is the Acme range, light and strong."))
        # The same anchor now links to another page of the money site.
        blog.add(
            "/retarget", post(f"Our favourite is the {link('/saws/')} range, light and strong.")
        )
        blog.add(
            "/rel", post(f"Our favourite is the {link(rel='nofollow')} range, light and strong.")
        )
        blog.add("/footer", post("Our favourite is the Acme range, light and strong.", link()))
        blog.add(
            "/noindex",
            post(
                f"Our favourite is the {link()} range, light and strong.",
                head="<meta name='robots' content='noindex'>",
            ),
        )
        blog.add("/busy", "<title>Service unavailable</title>", status=503)
        blog.add("/limited", "<title>Too many requests</title>", status=429)
        # URL-form changes only: a tracking parameter, no trailing slash.
        blog.add(
            "/stable",
            post(
                f"Our favourite is the {link('/drills?utm_source=blog&utm_medium=post')} "
                "range, light and strong."
            ),
        )
        # The target moved, and the post now links to its new address.
        money.redirect("/kit/", "/kit-2/")
        money.add("/kit-2/", post("The Acme drill kit."))
        blog.add("/kit-post", post(f"Get the {link('/kit-2/', text='Acme drill kit')} today."))

    def campaign_yaml(self) -> str:
        b, m = self.blog.base, self.money.base
        lines = [f"name: {CAMPAIGN}", f"money_site: {m}/", "tier1:"]
        for path in PATHS:
            lines += [f"  - url: {b}{path}", f"    target: {m}/drills/"]
        lines += [f"  - url: {b}/kit-post", f"    target: {m}/kit/"]
        return "\n".join(lines) + "\n"


@pytest.fixture
def monitor_web() -> Iterator[MonitorWeb]:
    with MonitorWeb() as web:
        yield web


class Receiver:
    """A local webhook receiver: answers ``statuses`` in turn (then 200) and keeps each body."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url + "/moved")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl(campaign: Path, uri: str, **settings: str) -> None:
    result = scrapy_crawl(campaign, uri, settings=settings)
    assert result.returncode == 0, result.stderr[-4000:]


def recheck(campaign: Path, uri: str) -> subprocess.CompletedProcess[str]:
    return tiercrawl(
        *("crawl", "--recheck", "--quiet", str(campaign)),
        *setting_args(TEST_CRAWL_SETTINGS),
        mongo_uri=uri,
    )


def diff_json(uri: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
    code = main(["diff", CAMPAIGN, "--mongo-uri", uri, "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def by_page(doc: dict[str, Any], web: MonitorWeb) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for change in doc["changes"]:
        path = change["url"].removeprefix(web.blog.base)
        found.setdefault(path, set()).add((change["kind"], change["state"]))
    return found


def test_two_crawls_give_the_expected_changes_the_recheck_settles_them(
    monitor_web: MonitorWeb,
    mongo_uri: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign = tmp_path / "monitor.yaml"
    campaign.write_text(monitor_web.campaign_yaml(), encoding="utf-8")
    crawl(campaign, mongo_uri)
    monitor_web.change()
    crawl(campaign, mongo_uri)

    code, doc = diff_json(mongo_uri, capsys)
    assert by_page(doc, monitor_web) == {
        "/removed": {("lost", "alert")},
        "/retarget": {("target_changed", "alert")},
        "/rel": {("rel_changed", "alert")},
        "/footer": {("region_changed", "alert")},
        "/noindex": {("indexability_changed", "alert")},
        "/busy": {("unverified", "unverified")},
        "/limited": {("unverified", "unverified")},
    }
    assert code == 4
    changes = {c["url"].removeprefix(monitor_web.blog.base): c for c in doc["changes"]}
    assert changes["/removed"]["evidence"]["status"] == {"old": "live", "new": "missing"}
    money = monitor_web.money.base
    assert changes["/retarget"]["evidence"]["link.url"] == {
        "old": f"{money}/drills/",
        "new": f"{money}/saws/",
    }
    assert changes["/rel"]["evidence"]["link.rel"] == {"old": [], "new": ["nofollow"]}
    assert (changes["/footer"]["old"], changes["/footer"]["new"]) == ("content", "footer")
    assert changes["/noindex"]["evidence"]["page.meta_robots"]["new"] == ["noindex"]
    assert changes["/busy"]["reason"] == "page not read: HTTP 503"
    assert changes["/limited"]["reason"] == "page not read: HTTP 429"
    # People read tokens, not Python or JSON lists.
    assert main(["diff", CAMPAIGN, "--mongo-uri", mongo_uri]) == 4
    (rel_line,) = [line for line in capsys.readouterr().out.splitlines() if "/rel" in line]
    assert ": follow -> nofollow" in rel_line

    # Before the recheck: /busy is back with its link, /rel is dofollow again.
    monitor_web.blog.add("/busy", post(f"Our favourite is the {monitor_web.link()} range."))
    monitor_web.blog.add("/rel", post(f"Our favourite is the {monitor_web.link()} range."))
    stable_hits = monitor_web.blog.hits.get("/stable", 0)
    result = recheck(campaign, mongo_uri)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "rechecking 7 placement(s)" in result.stderr
    assert monitor_web.blog.hits.get("/stable", 0) == stable_hits

    receiver = Receiver([503])
    try:
        code, doc = diff_json(mongo_uri, capsys, "--webhook", receiver.url)
    finally:
        receiver.close()
    assert by_page(doc, monitor_web) == {
        "/removed": {("lost", "confirmed")},
        "/retarget": {("target_changed", "confirmed")},
        "/rel": {("rel_changed", "withdrawn")},
        "/footer": {("region_changed", "confirmed")},
        "/noindex": {("indexability_changed", "confirmed")},
        "/busy": {("unverified", "withdrawn")},
        "/limited": {("unverified", "unverified")},
    }
    assert doc["summary"]["confirmed"] == 4
    assert code == 3
    # One 503, then delivered on the retry, with the same document.
    assert len(receiver.bodies) == 2
    assert receiver.bodies[1] == doc

    # The history: the second crawl overlaid with its recheck, /limited never read again.
    assert main(["history", CAMPAIGN, "--mongo-uri", mongo_uri, "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [len(run["rechecks"]) for run in history["runs"]] == [0, 1]
    assert {
        p["url"].removeprefix(monitor_web.blog.base): (p["timeline"], p["verdict"])
        for p in history["placements"]
    } == {
        "/removed": ("LM", "missing"),
        "/retarget": ("LM", "missing"),
        "/rel": ("LL", "live"),
        "/footer": ("LL", "live"),
        "/noindex": ("LI", "not_indexable"),
        "/busy": ("LL", "live"),
        "/limited": ("L?", "live"),
        "/stable": ("LL", "live"),
        "/kit-post": ("LL", "live"),
    }

    # A third full crawl with TIERCRAWL_KEEP_RUNS=1: only it stays, and nothing of the others.
    crawl(campaign, mongo_uri, TIERCRAWL_KEEP_RUNS="1")
    store = open_store(mongo_uri)
    try:
        assert_only_runs(store, 1)
    finally:
        store.close()


def assert_only_runs(store: Store, count: int) -> None:
    run_ids = {run["_id"] for run in store.runs.find({"campaign": CAMPAIGN})}
    assert len(run_ids) == count
    for collection in RUN_COLLECTIONS:
        assert set(store.db[collection].distinct("run_id")) <= run_ids, collection


def _undelivered(statuses: list[int], tmp_path: Path) -> tuple[Receiver, WebhookError]:
    """``deliver`` to a receiver answering ``statuses``, which must fail it: the error."""
    receiver = Receiver(statuses)
    try:
        with pytest.raises(WebhookError) as caught:
            deliver(receiver.url, {"changes": [1]}, attempts=3, backoff=0.01, spool_dir=tmp_path)
    finally:
        receiver.close()
    assert json.loads(caught.value.spool.read_text()) == {"changes": [1]}  # kept
    return receiver, caught.value


def test_a_webhook_that_never_answers_is_reported_and_the_payload_kept(tmp_path: Path) -> None:
    receiver, error = _undelivered([500, 500, 500], tmp_path)
    assert len(receiver.bodies) == 3
    assert "after 3 attempt(s) (HTTP 500)" in str(error)
    assert "/hook" not in str(error)  # a webhook's path is often its secret


def test_a_refused_payload_is_not_retried(tmp_path: Path) -> None:
    receiver, error = _undelivered([400], tmp_path)
    assert len(receiver.bodies) == 1
    assert "after 1 attempt(s) (HTTP 400)" in str(error)


def test_a_redirecting_webhook_is_not_delivered(tmp_path: Path) -> None:
    # urllib would follow it with a GET and no payload, and call that a delivery.
    receiver, error = _undelivered([302], tmp_path)
    assert len(receiver.bodies) == 1
    origin = receiver.url.removesuffix("/hook")
    assert f"(HTTP 302, a redirect to {origin}/...)" in str(error)  # its path may be secret
