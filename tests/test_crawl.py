"""End to end: ``scrapy crawl tiers`` over the test web, into a real MongoDB-wire server."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    ROOT,
    TEST_CRAWL_SETTINGS,
    RestartableStore,
    blog_campaign,
    scrapy_crawl,
    setting_args,
)
from tests.forward_proxy import ForwardProxy
from tests.web import TestWeb, closed_port
from tiercrawl.core.campaign import campaign_from_dict, load_campaign
from tiercrawl.core.compiled import COPIES
from tiercrawl.core.shards import plan_shards
from tiercrawl.demo.webserver import Site
from tiercrawl.jobs.placements import compute_placements
from tiercrawl.jobs.runs import close_run, create_sharded_run
from tiercrawl.store import Store, open_store

PAGE_FIELDS = {
    "run_id", "campaign", "url", "final_url", "tier", "status", "error", "redirects",
    "rendered", "robots_allowed", "meta_robots", "x_robots_tag", "canonical", "indexable",
    "indexability", "title", "lang", "word_count", "outbound_links", "page_nofollow",
}  # fmt: skip
LINK_FIELDS = {
    "run_id", "campaign", "source_url", "href", "url", "domain", "anchor_text", "anchor_kind",
    "rel", "nofollow", "sponsored", "ugc", "region", "position", "context", "hidden",
    "rendered_only", "external",
}  # fmt: skip
PLACEMENT_FIELDS = {
    "run_id", "campaign", "tier", "url", "target", "found", "link", "link_count", "status",
    "expected_anchor", "anchor_matches",
}  # fmt: skip


@pytest.fixture(scope="module")
def crawl(crawled_web: tuple[Store, str]) -> tuple[Store, str]:
    return crawled_web


def page(crawl: tuple[Store, str], url: str) -> dict[str, Any]:
    store, run_id = crawl
    docs = list(store.pages.find({"run_id": run_id, "url": url}))
    assert len(docs) == 1, f"{url}: {len(docs)} pages documents"
    return docs[0]


def crawled_page(campaign: Path, mongo_uri: str, url: str) -> dict[str, Any]:
    """Crawl ``campaign`` into a fresh store; the ``pages`` document of ``url``."""
    result = scrapy_crawl(campaign, mongo_uri)
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(mongo_uri)
    doc = store.pages.find_one({"url": url})
    store.close()
    assert doc is not None, url
    return doc


def crawled_blog(
    web: TestWeb,
    mongo_uri: str,
    campaign: Path,
    *paths: str,
    settings: dict[str, str] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Crawl the blog's ``paths`` (a `blog_campaign` written to ``campaign``) into a fresh
    store; its ``pages`` and ``placements`` documents, by URL."""
    result = scrapy_crawl(blog_campaign(web, campaign, *paths), mongo_uri, settings=settings)
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(mongo_uri)
    pages = {doc["url"]: doc for doc in store.pages.find()}
    placements = {doc["url"]: doc for doc in store.placements.find()}
    store.close()
    return pages, placements


def placement(crawl: tuple[Store, str], url: str) -> dict[str, Any]:
    store, run_id = crawl
    docs = list(store.placements.find({"run_id": run_id, "url": url}))
    assert len(docs) == 1
    return docs[0]


def test_every_requested_url_is_one_page_document(crawl: tuple[Store, str], web: TestWeb) -> None:
    store, run_id = crawl
    run = store.runs.find_one({"_id": run_id})
    assert run is not None
    expected = {url for url, _ in _campaign_pages(run)}
    stored = [doc["url"] for doc in store.pages.find({"run_id": run_id})]
    assert sorted(stored) == sorted(expected)
    # 20 tier-1, 2 tier-2, 4 targets (drills, saws, old-drills, catalogue)
    assert len(expected) == 26


def _campaign_pages(run: dict[str, Any]) -> list[tuple[str, int]]:
    return campaign_from_dict(run["campaign_spec"]).pages()


def test_run_document(crawl: tuple[Store, str]) -> None:
    store, run_id = crawl
    run = store.runs.find_one({"_id": run_id})
    assert run is not None
    assert run["campaign"] == "test-web"
    assert run["status"] == "finished"
    assert run["started_at"] <= run["heartbeat_at"] <= run["finished_at"]
    assert run["heartbeat_interval"] == 60.0
    assert run["stats"]["tiercrawl/pages"] == 26
    assert run["stats"]["item_scraped_count"] == 26  # one item per page, not per link
    assert run["stats"]["tiercrawl/extract/compiled_walk"] == 1
    assert run["stats"]["tiercrawl/extract/compiled_copies"] == len(COPIES)
    # Links are written in batches, not one round trip per link.
    assert run["stats"]["tiercrawl/store/links_written"] == 30
    assert run["stats"]["tiercrawl/store/batches"] == 1


def test_pages_carry_every_contract_field(crawl: tuple[Store, str]) -> None:
    store, run_id = crawl
    for doc in store.pages.find({"run_id": run_id}):
        assert doc.keys() >= PAGE_FIELDS, doc["url"]
        assert "html" not in doc
        assert "links" not in doc


def test_links_carry_every_contract_field(crawl: tuple[Store, str]) -> None:
    store, run_id = crawl
    links = list(store.links.find({"run_id": run_id}))
    assert links
    for doc in links:
        assert doc.keys() >= LINK_FIELDS


def test_placements_carry_every_contract_field(crawl: tuple[Store, str]) -> None:
    store, run_id = crawl
    docs = list(store.placements.find({"run_id": run_id}))
    assert len(docs) == 22  # 20 tier-1 and 2 tier-2 entries
    for doc in docs:
        assert doc.keys() >= PLACEMENT_FIELDS


def test_live_link_in_content(crawl: tuple[Store, str], web: TestWeb) -> None:
    url = web.blog.url("/best-drills")
    doc = page(crawl, url)
    assert doc["status"] == 200
    assert doc["tier"] == 1
    assert doc["title"] == "The best cordless drills of the year"
    assert doc["lang"] == "en"
    assert doc["indexable"] is True
    assert doc["canonical"] == url
    assert doc["robots_allowed"] is True
    result = placement(crawl, url)
    assert result["status"] == "live"
    assert result["found"] is True
    assert result["link_count"] == 2  # the text link (with utm tags) and the image link
    link = result["link"]
    assert link["anchor_text"] == "Acme cordless drills"
    assert link["region"] == "content"
    assert link["nofollow"] is False
    assert link["href"].endswith("/drills/?utm_source=blog&utm_medium=post")
    assert "brushless motor" in link["context"]
    assert result["anchor_matches"] is True
    assert result["expected_anchor"] == "Acme cordless drills"


def test_links_of_a_page(crawl: tuple[Store, str], web: TestWeb) -> None:
    store, run_id = crawl
    url = web.blog.url("/best-drills")
    links = list(store.links.find({"run_id": run_id, "source_url": url}).sort("position", 1))
    assert [link["position"] for link in links] == list(range(len(links)))
    by_anchor = {link["anchor_text"]: link for link in links}
    assert by_anchor["these saws"]["rel"] == ["nofollow", "sponsored"]
    assert by_anchor["these saws"]["sponsored"] is True
    assert by_anchor["Acme drill photo"]["anchor_kind"] == "image"
    assert by_anchor["secret offer"]["hidden"] is True
    assert by_anchor["cheap drills"]["region"] == "comments"
    assert by_anchor["cheap drills"]["ugc"] is True
    assert by_anchor["Best hammers"]["region"] == "aside"
    assert by_anchor["About"]["region"] == "footer"
    assert by_anchor["Reviews"]["region"] in {"nav", "header"}
    assert by_anchor["comparison chart"]["domain"] == "example.org"
    assert by_anchor["comparison chart"]["external"] is True
    assert by_anchor["Reviews"]["external"] is False
    assert page(crawl, url)["outbound_links"] == sum(link["external"] for link in links)


def test_base_href_resolves_links(crawl: tuple[Store, str], web: TestWeb) -> None:
    store, run_id = crawl
    url = web.blog.url("/missing-post")
    link = store.links.find_one({"run_id": run_id, "source_url": url, "href": "lamps"})
    assert link is not None
    assert link["url"] == web.blog.url("/guides/lamps")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/nofollow-post", "nofollow"),
        ("/noindex-post", "not_indexable"),
        ("/xrobots-post", "not_indexable"),
        ("/canonical-post", "not_indexable"),
        ("/missing-post", "missing"),
        ("/moved", "live"),
        ("/cross-domain-post", "live"),
        ("/gone", "page_error"),
        ("/private/post", "inconclusive"),
        ("/busy", "inconclusive"),
        ("/slow", "inconclusive"),
        ("/file.pdf", "inconclusive"),
        ("/huge", "inconclusive"),
        ("/loop-a", "inconclusive"),
        ("/no-location", "inconclusive"),
        ("/challenge", "inconclusive"),
        ("/captcha-wall", "inconclusive"),
    ],
)
def test_placement_status(crawl: tuple[Store, str], web: TestWeb, path: str, status: str) -> None:
    assert placement(crawl, web.blog.url(path))["status"] == status


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/private/post", "robots"),
        ("/slow", "timeout"),
        ("/file.pdf", "not_html"),
        ("/huge", "too_large"),
        ("/loop-a", "redirect_loop"),
        ("/no-location", "bad_redirect"),
    ],
)
def test_failure_kinds(crawl: tuple[Store, str], web: TestWeb, path: str, error: str) -> None:
    assert page(crawl, web.blog.url(path))["error"] == error


def test_a_redirect_without_location_keeps_its_status(
    crawl: tuple[Store, str], web: TestWeb
) -> None:
    doc = page(crawl, web.blog.url("/no-location"))
    assert (doc["status"], doc["final_url"], doc["indexable"]) == (
        301,
        web.blog.url("/no-location"),
        False,
    )


def test_a_redirect_no_request_can_be_made_of_leaves_the_page_where_it_is(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    pages, placements = crawled_blog(
        web, mongo_uri, tmp_path / "stay.yaml", "/to-script", "/refresh-to-mail"
    )
    script = pages[web.blog.url("/to-script")]
    assert (script["error"], script["status"]) == ("bad_redirect", 302)
    mail = pages[web.blog.url("/refresh-to-mail")]
    assert (mail["error"], mail["status"]) == (None, 200)
    assert mail["final_url"] == web.blog.url("/refresh-to-mail")
    verdict = placements[web.blog.url("/refresh-to-mail")]
    # Read: the link is found (the page's canonical names /best-drills, whose copy it is).
    assert (verdict["found"], verdict["status"]) == (True, "not_indexable")


def test_a_meta_refresh_is_followed(web: TestWeb, mongo_uri: str, tmp_path: Path) -> None:
    pages, placements = crawled_blog(web, mongo_uri, tmp_path / "refresh.yaml", "/refresh-moved")
    moved = pages[web.blog.url("/refresh-moved")]
    assert (moved["status"], moved["final_url"], moved["redirects"]) == (
        200,
        web.blog.url("/moved-post"),
        [web.blog.url("/refresh-moved")],
    )
    assert placements[web.blog.url("/refresh-moved")]["found"] is True


def test_a_compressed_page_cut_short_is_no_page_read(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    pages, placements = crawled_blog(
        web, mongo_uri, tmp_path / "gzip.yaml", "/gzipped", "/cut-gzip"
    )
    whole, cut = web.blog.url("/gzipped"), web.blog.url("/cut-gzip")
    assert (pages[whole]["error"], pages[whole]["link_count"]) == (None, 13)  # all of them
    assert (pages[cut]["error"], pages[cut]["status"]) == ("data_loss", None)
    assert "gzip stream cut short" in pages[cut]["error_detail"]
    statuses = (placements[whole]["status"], placements[cut]["status"])
    assert statuses == ("not_indexable", "inconclusive")


def test_a_blank_answer_proves_no_link_missing(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    pages, placements = crawled_blog(
        web, mongo_uri, tmp_path / "blank.yaml", "/blank", "/no-content"
    )
    for url, status in ((web.blog.url("/blank"), 200), (web.blog.url("/no-content"), 204)):
        assert (pages[url]["status"], pages[url]["error"]) == (status, "empty")
        assert placements[url]["reason"] == "page not read: empty"


def test_dns_failure(crawl: tuple[Store, str]) -> None:
    doc = page(crawl, "http://unresolvable.invalid/post")
    assert (doc["error"], doc["status"]) == ("dns", None)
    assert placement(crawl, "http://unresolvable.invalid/post")["status"] == "page_error"


def test_connection_refused(crawl: tuple[Store, str]) -> None:
    store, run_id = crawl
    doc = store.pages.find_one({"run_id": run_id, "url": {"$regex": "^http://127.0.0.1:"}})
    assert doc is not None
    assert (doc["error"], doc["status"]) == ("connection", None)


def test_http_errors_keep_their_status(crawl: tuple[Store, str], web: TestWeb) -> None:
    assert page(crawl, web.blog.url("/gone"))["status"] == 404
    busy = page(crawl, web.blog.url("/busy"))
    assert busy["status"] == 503
    assert busy["indexability"] == ["status"]
    assert web.blog.hits["/busy"] == 2  # retried once (RETRY_TIMES=1 in tests)


def test_robots_txt_is_obeyed_and_recorded(crawl: tuple[Store, str], web: TestWeb) -> None:
    doc = page(crawl, web.blog.url("/private/post"))
    assert doc["robots_allowed"] is False
    assert "robots" in doc["indexability"]
    assert "/private/post" not in web.blog.hits


def test_a_redirect_is_followed_without_a_referer_or_a_warning(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    # Scrapy's redirect middlewares warn on every crawl that has its RefererMiddleware off.
    result = scrapy_crawl(blog_campaign(web, tmp_path / "moved.yaml", "/moved"), mongo_uri)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "RefererMiddleware" not in result.stderr
    assert "] WARNING:" not in result.stderr
    assert "Referer" not in web.blog.last_headers["/moved-post"]


def test_redirects_are_recorded(crawl: tuple[Store, str], web: TestWeb) -> None:
    doc = page(crawl, web.blog.url("/moved"))
    assert doc["final_url"] == web.blog.url("/moved-post")
    assert doc["redirects"] == [web.blog.url("/moved")]
    moved = placement(crawl, web.blog.url("/moved"))
    assert moved["moved_to"] == web.blog.url("/moved-post")
    assert moved["reason"].endswith(f"; the page moved to {web.blog.url('/moved-post')}")
    assert placement(crawl, web.blog.url("/best-drills"))["moved_to"] is None
    target = page(crawl, web.money.url("/old-drills"))
    assert target["tier"] == 0
    assert target["final_url"] == web.money.url("/drills/")


def test_the_verdicts_from_the_target_aliases_kept_by_the_crawl_are_those_of_the_store(
    crawl: tuple[Store, str], web: TestWeb
) -> None:
    store, run_id = crawl
    # Its link goes to /drills/, where its target /old-drills redirects.
    assert placement(crawl, web.blog.url("/moved"))["found"] is True
    run = store.runs.find_one({"_id": run_id})
    assert run is not None

    def verdicts() -> dict[tuple[str, str], dict[str, Any]]:
        found = store.placements.find({"run_id": run_id}, {"_id": 0})
        return {(doc["url"], doc["target"]): doc for doc in found}

    kept_by_the_crawl = verdicts()
    # No aliases given: they are read from the run's pages, as the last shard of a run does.
    compute_placements(store, run_id, campaign_from_dict(run["campaign_spec"]))
    assert verdicts() == kept_by_the_crawl


def test_indexability_signals(crawl: tuple[Store, str], web: TestWeb) -> None:
    noindex = page(crawl, web.blog.url("/noindex-post"))
    assert noindex["meta_robots"] == ["noindex", "follow"]
    assert noindex["indexability"] == ["noindex"]
    xrobots = page(crawl, web.blog.url("/xrobots-post"))
    assert xrobots["x_robots_tag"] == ["noindex", "nofollow"]
    assert xrobots["page_nofollow"] is True
    canonical = page(crawl, web.blog.url("/canonical-post"))
    assert canonical["canonical"] == web.blog.url("/best-drills")
    assert canonical["indexability"] == ["canonicalised"]


def test_tier2_placements(crawl: tuple[Store, str], web: TestWeb) -> None:
    supported = placement(crawl, web.forum.url("/t/1"))
    assert (supported["tier"], supported["status"]) == (2, "live")
    assert supported["target"] == web.blog.url("/best-drills")
    assert placement(crawl, web.forum.url("/t/2"))["status"] == "missing"


def test_a_second_crawl_is_a_new_run(web: TestWeb, mongo_uri: str, tmp_path: Any) -> None:
    campaign = blog_campaign(web, tmp_path / "small.yaml", "/best-drills")
    for _ in range(2):
        result = scrapy_crawl(campaign, mongo_uri)
        assert result.returncode == 0, result.stderr[-3000:]
    from tiercrawl.store import open_store

    store = open_store(mongo_uri)
    runs = store.runs_of("small")
    assert len(runs) == 2
    assert runs[0]["_id"] != runs[1]["_id"]
    for run in runs:
        assert store.pages.count_documents({"run_id": run["_id"]}) == 2
        assert store.placements.count_documents({"run_id": run["_id"], "status": "live"}) == 1
    store.close()


def test_invalid_campaign_is_refused_before_any_request(
    web: TestWeb, mongo_uri: str, tmp_path: Any
) -> None:
    campaign = tmp_path / "bad.yaml"
    campaign.write_text(
        "name: Bad Name\n"
        f"money_site: {web.money.base}/\n"
        "colour: blue\n"
        "tier1:\n"
        f"  - url: {web.blog.url('/never-requested')}\n"
        "    target: ftp://example.org/file\n",
        encoding="utf-8",
    )
    result = scrapy_crawl(campaign, mongo_uri)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "colour" in result.stderr
    assert "name" in result.stderr
    assert "ftp://example.org/file" in result.stderr
    assert "/never-requested" not in web.blog.hits


def test_robots_txt_applies_to_every_request_queued_behind_it(
    mongo_uri: str, tmp_path: Any
) -> None:
    from tiercrawl.demo.webserver import Site
    from tiercrawl.store import open_store

    with Site("127.0.0.5") as site, Site("127.0.0.6") as money:
        site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        money.add("/", "<title>Money</title>")
        paths = [f"/private/{n}" for n in range(6)] + [f"/open/{n}" for n in range(6)]
        entries = ""
        for path in paths:
            site.add(path, f'<p><a href="{money.base}/">money</a></p>')
            entries += f"  - url: {site.url(path)}\n    target: {money.base}/\n"
        campaign = tmp_path / "robots.yaml"
        campaign.write_text(
            f"name: robots\nmoney_site: {money.base}/\ntier1:\n{entries}", encoding="utf-8"
        )
        result = scrapy_crawl(
            campaign, mongo_uri, settings={"CONCURRENT_REQUESTS_PER_DOMAIN": "8"}
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert not [path for path in site.hits if path.startswith("/private/")]
    store = open_store(mongo_uri)
    errors = {doc["url"]: doc["error"] for doc in store.pages.find({"tier": 1})}
    store.close()
    assert errors == {site.url(p): "robots" if "private" in p else None for p in paths}


@pytest.mark.parametrize(
    ("spider_args", "message"),
    [
        ([], "-a campaign=PATH_OR_NAME is required"),
        (["-a", "render=sometimes"], "-a render=sometimes: expected one of auto, always, never"),
        (["-a", "campaign=no-such-campaign"], "no-such-campaign: no such campaign file"),
    ],
)
def test_bad_spider_arguments_are_refused_cleanly(
    mongo_uri: str, spider_args: list[str], message: str
) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "tiers", *spider_args],
        check=False,
        cwd=ROOT,
        env={**os.environ, "TIERCRAWL_MONGO_URI": mongo_uri},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("spider_args", "message"),
    [
        (["-a", "shard=x"], "-a shard=N takes a shard number and needs -a run_id=ID"),
        (["-a", "recheck_of=nope"], "no finished run nope"),
    ],
)
def test_spider_arguments_that_stop_the_start_are_refused_cleanly(
    mongo_uri: str, web: TestWeb, tmp_path: Path, spider_args: list[str], message: str
) -> None:
    campaign = blog_campaign(web, tmp_path / "start.yaml", "/best-drills")
    result = scrapy_crawl(campaign, mongo_uri, *spider_args)
    assert result.returncode == 1
    assert "scrapy crawl tiers: " in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_pages_keep_their_links_into_target_domains(
    crawl: tuple[Store, str], web: TestWeb
) -> None:
    doc = page(crawl, web.blog.url("/best-drills"))
    kept = {(link["anchor_text"], link["domain"]) for link in doc["target_links"]}
    money = "127.0.0.2"
    assert kept == {
        ("Acme cordless drills", money),
        ("these saws", money),
        ("Acme drill photo", money),
        ("secret offer", money),
        ("Sponsored by Acme", money),
    }
    # A tier-2 page keeps its links into the tier-1 page's site.
    forum = page(crawl, web.forum.url("/t/1"))
    assert [link["domain"] for link in forum["target_links"]] == ["127.0.0.3"]


def test_a_page_with_more_target_links_than_it_keeps_has_them_read_back(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    campaign = blog_campaign(web, tmp_path / "sitewide.yaml", "/sitewide")
    doc = crawled_page(campaign, mongo_uri, web.blog.url("/sitewide"))
    assert doc["target_links"] is None
    assert doc["link_count"] == 1001
    store = open_store(mongo_uri)
    found = store.placements.find_one({"url": web.blog.url("/sitewide")})
    store.close()
    assert found is not None
    assert (found["status"], found["link_count"]) == ("live", 1001)
    assert found["link"]["position"] == 0


@pytest.mark.parametrize("writes", ["1", "4"])
def test_small_batches_written_one_or_several_at_once_store_the_same_documents(
    crawl: tuple[Store, str], web: TestWeb, mongo_uri: str, tmp_path: Path, writes: str
) -> None:
    # Every few items a batch: with one write at a time, items wait for the one before.
    path = tmp_path / "test-web.yaml"
    path.write_text(web.campaign_yaml(), encoding="utf-8")
    settings = {"TIERCRAWL_MONGO_BATCH_SIZE": "3", "TIERCRAWL_MONGO_CONCURRENT_WRITES": writes}
    result = scrapy_crawl(path, mongo_uri, settings=settings)
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(mongo_uri)
    run = store.latest_run("test-web")
    assert run is not None
    assert run["stats"]["tiercrawl/store/pages_written"] == 26
    assert run["stats"]["tiercrawl/store/links_written"] == 30
    # Items that wait for a write join the batch being filled: how many is timing.
    assert run["stats"]["tiercrawl/store/batches"] > 1

    def stored(store: Store, run_id: str) -> list[tuple[str, int, str]]:
        links = store.links.find({"run_id": run_id})
        return sorted((link["source_url"], link["position"], link["url"]) for link in links)

    shared_store, shared_run = crawl
    assert stored(store, run["_id"]) == stored(shared_store, shared_run)
    assert store.pages.count_documents({"run_id": run["_id"]}) == 26
    store.close()


def _crawl_under_way(
    web: TestWeb,
    campaign: Path,
    mongo_uri: str,
    spider_args: tuple[str, ...] = (),
    **settings: str,
) -> subprocess.Popen[str]:
    """``scrapy crawl tiers`` started in the background, once it has asked the blog for /slow
    (delayed 4 s): the reactor runs and the run is stored."""
    slow_hits = web.blog.hits.get("/slow", 0)
    command = ["-m", "scrapy", "crawl", "tiers", "-a", f"campaign={campaign}", *spider_args]
    process = subprocess.Popen(
        [sys.executable, *command, *setting_args({**TEST_CRAWL_SETTINGS, **settings})],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TIERCRAWL_MONGO_URI": mongo_uri},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while web.blog.hits.get("/slow", 0) == slow_hits:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"/slow not fetched: {process.communicate()[1][-3000:]}")
        time.sleep(0.1)
    return process


def _force_stop(process: subprocess.Popen[str]) -> str:
    """Ctrl-C twice: Scrapy stops the reactor and the spider never closes. Its stderr."""
    try:
        # Signals before the reactor runs are not Scrapy's to handle: hence a download.
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert "forcing unclean shutdown" in err, err[-3000:]
    return err


def test_a_forced_shutdown_fails_the_run_at_once(
    web: TestWeb, store: Store, mongo_uri: str, tmp_path: Path
) -> None:
    campaign = blog_campaign(web, tmp_path / "forced.yaml", "/slow", "/best-drills")
    err = _force_stop(_crawl_under_way(web, campaign, mongo_uri, DOWNLOAD_TIMEOUT="30"))
    run = store.runs.find_one({"campaign": "forced"})
    assert run is not None
    assert run["status"] == "failed", err[-3000:]
    assert run["close_reason"] == "shutdown: forced before the crawl closed"
    assert run["finished_at"] is not None


def test_a_forced_shutdown_of_the_last_shard_finalises_its_run(
    web: TestWeb, store: Store, mongo_uri: str, tmp_path: Path
) -> None:
    """The other shard has closed: the forced one is the last, and its run is finalised
    (failed, placements computed) as it stops."""
    path = blog_campaign(web, tmp_path / "forced-shard.yaml", "/slow", "/best-drills")
    campaign = load_campaign(path)
    shards = plan_shards(campaign.pages(), 2)
    assert [shard.page_count for shard in shards] == [2, 1]  # the blog's two posts, the target
    run_id = "forced-shard-run"
    create_sharded_run(
        store, run_id, campaign, shards, nodes=["node0", "node1"], project="tiercrawl"
    )
    close_run(store, run_id, campaign, shard=1, reason="finished", stats={"tiercrawl/pages": 1})
    spider_args = ("-a", f"run_id={run_id}", "-a", "shard=0")
    err = _force_stop(_crawl_under_way(web, path, mongo_uri, spider_args, DOWNLOAD_TIMEOUT="30"))
    run = store.runs.find_one({"_id": run_id})
    assert run is not None
    assert run["status"] == "failed", err[-3000:]
    assert [shard["status"] for shard in run["shards"]] == ["failed", "finished"]
    assert run["shards"][0]["close_reason"] == "shutdown: forced before the crawl closed"
    assert run["finished_at"] is not None
    # Every entry has its verdict, from what the shards stored.
    placements = {doc["url"]: doc["status"] for doc in store.placements.find({"run_id": run_id})}
    assert set(placements) == {web.blog.url("/slow"), web.blog.url("/best-drills")}


def test_the_heartbeat_outlives_a_store_outage(web: TestWeb, tmp_path: Path) -> None:
    db = RestartableStore(tmp_path)
    db.start()
    uri = f"{db.uri}/outage"
    campaign = blog_campaign(web, tmp_path / "outage.yaml", "/slow")
    process = _crawl_under_way(
        web, campaign, uri, DOWNLOAD_TIMEOUT="30", TIERCRAWL_HEARTBEAT_INTERVAL="0.2"
    )
    try:
        # Gone for 1 s of /slow's 4: the beats meanwhile fail (and do not wait, or stall
        # the crawl, until the store is back); those after it land.
        db.stop()
        time.sleep(1.0)
        db.start()
        back = datetime.now(UTC)
        _, err = process.communicate(timeout=60)
        store = open_store(uri)
        run = store.latest_run("outage")
        store.close()
    finally:
        process.kill()
        db.stop()
    assert process.returncode == 0, err[-3000:]
    assert "heartbeat not stored" in err
    assert run is not None
    assert run["status"] == "finished"
    assert run["heartbeat_at"] > back


def test_a_site_gets_no_more_requests_at_once_than_its_concurrency(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    # With AutoThrottle off (no delay), Scrapy 2.19 alone sent 10 of these at once.
    with Site("127.0.0.15") as site:
        paths = [f"/p{n}" for n in range(12)]
        for path in paths:
            site.add(path, web.page("blog/best-drills.html"), delay=0.5)
        entries = "".join(
            f"  - url: {site.url(path)}\n    target: {web.money.url('/drills/')}\n"
            for path in paths
        )
        campaign = tmp_path / "busy-site.yaml"
        campaign.write_text(
            f"name: busy-site\nmoney_site: {web.money.base}/\ntier1:\n{entries}",
            encoding="utf-8",
        )
        settings = {"CONCURRENT_REQUESTS_PER_DOMAIN": "4", "DOWNLOAD_DELAY": "0"}
        result = scrapy_crawl(campaign, mongo_uri, settings=settings)
        assert result.returncode == 0, result.stderr[-3000:]
        arrivals = sorted(t for path in paths for t in site.hit_times[path])
    # Each answer takes 0.5 s: requests that arrived within 0.45 s of each other overlapped.
    assert len(arrivals) == 12
    assert max(sum(0 <= t - u < 0.45 for u in arrivals) for t in arrivals) == 4


def test_retries_wait_longer_each_time_or_as_long_as_the_server_asks(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    campaign = blog_campaign(web, tmp_path / "backoff.yaml", "/busy", "/rate-limited")
    before = {path: len(web.blog.hit_times.get(path, [])) for path in ("/busy", "/rate-limited")}
    settings = {"RETRY_TIMES": "2", "TIERCRAWL_RETRY_BACKOFF": "0.3"}
    result = scrapy_crawl(campaign, mongo_uri, settings=settings)
    assert result.returncode == 0, result.stderr[-4000:]

    def gaps(path: str) -> list[float]:
        times = web.blog.hit_times[path][before[path] :]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    busy, limited = gaps("/busy"), gaps("/rate-limited")
    assert len(busy) == len(limited) == 2  # two retries each
    assert busy[0] >= 0.3
    assert busy[1] >= 0.6
    assert min(limited) >= 1.0  # Retry-After: 1, longer than the back-off
    store = open_store(mongo_uri)
    run = store.latest_run("backoff")
    assert run is not None
    assert run["stats"]["retry/count"] == 4
    statuses = {p["url"]: p["status"] for p in store.pages.find({"run_id": run["_id"]})}
    assert statuses[web.blog.url("/rate-limited")] == 429
    store.close()


def test_a_redirect_into_a_failed_fetch_records_where_it_led(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    campaign = blog_campaign(web, tmp_path / "led.yaml", "/to-private")
    doc = crawled_page(campaign, mongo_uri, web.blog.url("/to-private"))
    assert (doc["error"], doc["status"]) == ("robots", None)
    assert doc["redirects"] == [web.blog.url("/to-private")]
    assert doc["final_url"] == web.blog.url("/private/post")


def test_a_page_closed_to_googlebot_alone_is_fetched_but_not_indexable(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    campaign = blog_campaign(web, tmp_path / "google.yaml", "/google-closed/post", "/best-drills")
    result = scrapy_crawl(campaign, mongo_uri)
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(mongo_uri)
    closed = store.pages.find_one({"url": web.blog.url("/google-closed/post")})
    open_page = store.pages.find_one({"url": web.blog.url("/best-drills")})
    verdict = store.placements.find_one({"url": web.blog.url("/google-closed/post")})
    store.close()
    assert closed is not None
    assert open_page is not None
    assert verdict is not None
    assert (closed["status"], closed["robots_allowed"], closed["googlebot_allowed"]) == (
        200,
        True,
        False,
    )
    assert "robots" in closed["indexability"]  # (and canonicalised: the copy of /best-drills)
    assert verdict["status"] == "not_indexable"
    assert (open_page["googlebot_allowed"], open_page["indexable"]) == (True, True)


@pytest.mark.parametrize(
    ("robots", "hits"),
    [
        # RFC 9309: robots.txt answering 5xx means complete disallow, not the error page as rules.
        ({"body": "<h1>Service unavailable</h1>", "status": 503}, 2),  # retried once in tests
        # Unreadable ones too: a timeout (DOWNLOAD_TIMEOUT is 2 s in the tests) ...
        ({"body": "User-agent: *\nAllow: /\n", "delay": 3}, 2),
        # ... and one over DOWNLOAD_MAXSIZE (100 KB in the tests), not taken for none at all.
        ({"body": "User-agent: *\nAllow: /\n" + "#" * 200_000}, 1),
    ],
    ids=["503", "timeout", "too-large"],
)
def test_a_robots_txt_the_server_cannot_give_closes_the_site(
    web: TestWeb, mongo_uri: str, tmp_path: Path, robots: dict[str, Any], hits: int
) -> None:
    with Site("127.0.0.7") as down:
        down.add("/robots.txt", content_type="text/plain", **robots)
        down.add("/post", web.page("blog/best-drills.html"))
        campaign = tmp_path / "down.yaml"
        campaign.write_text(
            f"name: down\nmoney_site: {web.money.base}/\ntier1:\n"
            f"  - url: {down.url('/post')}\n    target: {web.money.url('/drills/')}\n",
            encoding="utf-8",
        )
        page_doc = crawled_page(campaign, mongo_uri, down.url("/post"))
        assert "/post" not in down.hits
        assert down.hits["/robots.txt"] == hits
    assert (page_doc["error"], page_doc["robots_allowed"]) == ("robots", False)


def test_a_redirect_to_a_host_whose_robots_txt_cannot_be_read_has_its_verdict(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    with Site("127.0.0.8") as slow:
        slow.add("/robots.txt", "User-agent: *\nAllow: /\n", delay=3, content_type="text/plain")
        slow.add("/post", web.page("blog/best-drills.html"))
        web.blog.redirect("/to-slow", slow.url("/post"))
        campaign = blog_campaign(web, tmp_path / "slow.yaml", "/to-slow")
        page_doc = crawled_page(campaign, mongo_uri, web.blog.url("/to-slow"))
        assert "/post" not in slow.hits
    assert (page_doc["error"], page_doc["final_url"]) == ("robots", slow.url("/post"))
    # The closed host's verdict, not that of the blog the redirect came from.
    assert page_doc["googlebot_allowed"] is False


def test_a_url_longer_than_browsers_take_is_still_fetched_and_stored(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    # Scrapy's UrlLengthMiddleware would drop it unseen, start requests included.
    long_path = "/best-drills?ref=" + "x" * 2100
    pages, placements = crawled_blog(web, mongo_uri, tmp_path / "long.yaml", long_path)
    url = web.blog.url(long_path)
    assert (pages[url]["status"], pages[url]["error"]) == (200, None)
    assert placements[url]["found"] is True


def test_every_request_goes_through_the_proxy_with_its_credentials(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    with ForwardProxy("127.0.0.12", "tier", "s3cret:@") as proxy:
        # The password is written as a URL takes it: percent-encoded.
        setting = {"TIERCRAWL_PROXY": proxy.url("tier:s3cret%3A%40@")}
        campaign = blog_campaign(web, tmp_path / "proxied.yaml", "/best-drills", "/missing-post")
        result = scrapy_crawl(campaign, mongo_uri, settings=setting)
    assert result.returncode == 0, result.stderr[-4000:]
    store = open_store(mongo_uri)
    placements = {doc["url"]: doc["status"] for doc in store.placements.find()}
    store.close()
    assert placements == {
        web.blog.url("/best-drills"): "live",
        web.blog.url("/missing-post"): "missing",
    }
    assert sorted(url for url, _ in proxy.requests) == sorted(
        [
            web.blog.url("/robots.txt"),
            web.blog.url("/best-drills"),
            web.blog.url("/missing-post"),
            web.money.url("/robots.txt"),
            web.money.url("/drills/"),
        ]
    )
    assert {sent for _, sent in proxy.requests} == {proxy.authorization}


def test_a_proxy_that_refuses_connections_leaves_every_page_stored_with_its_error(
    web: TestWeb, mongo_uri: str, tmp_path: Path
) -> None:
    setting = {"TIERCRAWL_PROXY": f"http://127.0.0.12:{closed_port()}"}
    pages, placements = crawled_blog(
        web, mongo_uri, tmp_path / "no-proxy.yaml", "/best-drills", settings=setting
    )
    page = pages[web.blog.url("/best-drills")]
    assert (page["error"], page["status"]) == ("connection", None)
    assert placements[web.blog.url("/best-drills")]["status"] == "inconclusive"
