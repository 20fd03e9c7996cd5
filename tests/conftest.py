from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pymongo
import pytest
from scrapy.settings import default_settings

from tests.queries import Replies
from tests.web import TestWeb
from tiercrawl.store import Store, open_store
from tiercrawl.store.embedded import start_server

ROOT = Path(__file__).parent.parent

# Scrapy 2.19 renamed the resolver's setting and warns on every crawl given the old name.
_RESOLVER = (
    "TWISTED_DNS_RESOLVER" if hasattr(default_settings, "TWISTED_DNS_RESOLVER") else "DNS_RESOLVER"
)

# Test crawls are fast and deterministic: no throttling, short timeouts, a
# resolver that never leaves loopback.
TEST_CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_TIMEOUT": "2",
    "DOWNLOAD_MAXSIZE": "100000",
    "RETRY_TIMES": "1",
    "TIERCRAWL_RETRY_BACKOFF": "0.1",
    _RESOLVER: "tests.resolver.LoopbackOnlyResolver",
    "LOG_LEVEL": "INFO",
}

for _proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
    os.environ.pop(_proxy, None)


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB wire server (SecantusDB on WiredTiger) on a free loopback port."""
    server = start_server(tmp_path_factory.mktemp("mongo"))
    yield str(server.uri).rstrip("/")
    server.stop()


class RestartableStore:
    """A SecantusDB server on a fixed loopback port, to stop and start again on its data:
    a store outage, as clients see it."""

    def __init__(self, data_dir: Path) -> None:
        from tests.web import closed_port

        self.data_dir = data_dir
        self.port = closed_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}"
        self.running: list[Any] = []

    def start(self) -> None:
        from secantus import SecantusDBServer

        server = SecantusDBServer(
            host="127.0.0.1",
            port=self.port,
            storage_path=str(self.data_dir),
            replica_set_name=None,
        )
        server.start()
        self.running.append(server)

    def stop(self) -> None:
        while self.running:
            self.running.pop().stop()


@pytest.fixture
def mongo_uri(mongo_server: str) -> str:
    """A fresh database on the shared server, for one test."""
    return f"{mongo_server}/t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(mongo_uri: str) -> Iterator[Store]:
    opened = open_store(mongo_uri)
    opened.ensure_indexes()
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def web() -> Iterator[TestWeb]:
    with TestWeb() as test_web:
        yield test_web


def setting_args(settings: Mapping[str, str]) -> list[str]:
    """``-s NAME=VALUE`` options, as ``scrapy crawl`` and the ``tiercrawl`` commands take them."""
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def run_python(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` as a user runs it, in a subprocess: no store URI but ``env``'s."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    full_env.pop("TIERCRAWL_MONGO_URI", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *args],
        check=False,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def scrapy_crawl(
    campaign: str | Path,
    mongo_uri: str,
    *extra: str,
    settings: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """Run ``scrapy crawl tiers`` as a user does, in a subprocess."""
    return run_python(
        *("-m", "scrapy", "crawl", "tiers", "-a", f"campaign={campaign}"),
        *setting_args({**TEST_CRAWL_SETTINGS, **(settings or {})}),
        *extra,
        cwd=cwd,
        env={"TIERCRAWL_MONGO_URI": mongo_uri},
    )


def tiercrawl(*args: str, mongo_uri: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``tiercrawl ARGS --mongo-uri MONGO_URI`` as a user does, in a subprocess."""
    return run_python("-m", "tiercrawl.cli", *args, "--mongo-uri", mongo_uri, cwd=cwd)


def blog_campaign(web: TestWeb, path: Path, *posts: str) -> Path:
    """A campaign file named after ``path``: each blog post in ``posts`` links the money drills."""
    lines = [f"name: {path.stem}", f"money_site: {web.money.base}/", "tier1:"]
    for post in posts:
        lines += [f"  - url: {web.blog.url(post)}", f"    target: {web.money.url('/drills/')}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def crawled_web(
    web: TestWeb, mongo_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, str]]:
    """One crawl of the whole test web, shared by the tests that read its documents."""
    path = tmp_path_factory.mktemp("campaign") / "test-web.yaml"
    path.write_text(web.campaign_yaml(), encoding="utf-8")
    uri = f"{mongo_server}/crawled_web"
    result = scrapy_crawl(path, uri)
    assert result.returncode == 0, result.stderr[-4000:]
    opened = open_store(uri)
    run = opened.latest_run("test-web")
    assert run is not None, result.stderr[-4000:]
    yield opened, run["_id"]
    opened.close()


def chromium_path() -> str | None:
    return os.environ.get("TIERCRAWL_BROWSER_PATH") or shutil.which("chromium")


@pytest.fixture
def watched(mongo_uri: str) -> Iterator[tuple[Store, Replies]]:
    replies = Replies()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongo_uri, event_listeners=[replies]
    )
    store = Store(client, mongo_uri.rsplit("/", 1)[1])
    store.ensure_indexes()
    yield store, replies
    store.close()
