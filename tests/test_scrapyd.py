"""Scaling out, with real parts: two Scrapyd servers on loopback ports, the project
deployed to both with scrapyd-deploy, one campaign scheduled across them, and
every result in one shared MongoDB (a SecantusDB server).

The nodes are configured from ``deploy/scrapyd.conf`` (auth on) and get their
password and ``TIERCRAWL_MONGO_URI`` from the environment, as the systemd unit
gives them.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from tests.conftest import ROOT, scrapy_crawl, setting_args
from tests.web import TestWeb
from tiercrawl.cli import main
from tiercrawl.core.compiled import COPIES, SOURCES
from tiercrawl.demo.webserver import Site
from tiercrawl.scrapyd import ScrapydError, ScrapydNode
from tiercrawl.store import Store, open_store

USERNAME = "tiercrawl"
PASSWORD = "test-only-secret"
BIN = Path(sys.executable).parent
# What the job settings change for the test web: no throttling, short timeouts (nothing
# in the campaign below is slow; a robots.txt that timed out would allow every page).
JOB_SETTINGS = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "10", "RETRY_TIMES": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ScrapydServer:
    """A Scrapyd process in its own directory, configured from deploy/scrapyd.conf."""

    def __init__(self, home: Path, mongo_uri: str) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.auth_url = f"http://{USERNAME}:{PASSWORD}@127.0.0.1:{self.port}/"
        self.mongo_uri = mongo_uri
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ScrapydServer:
        self.home.mkdir(parents=True, exist_ok=True)
        config = configparser.ConfigParser()
        config.read(ROOT / "deploy" / "scrapyd.conf")
        config["scrapyd"].update(
            {
                "http_port": str(self.port),
                "poll_interval": "0.5",
                "eggs_dir": str(self.home / "eggs"),
                "logs_dir": str(self.home / "logs"),
                "dbs_dir": str(self.home / "dbs"),
            }
        )
        with (self.home / "scrapyd.conf").open("w") as file:
            config.write(file)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SCRAPYD_", "TIERCRAWL_", "SCRAPY_"))
        }
        env.update(
            SCRAPYD_PASSWORD=PASSWORD, TIERCRAWL_MONGO_URI=self.mongo_uri, HOME=str(self.home)
        )
        self.log = (self.home / "scrapyd.out").open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "scrapyd")],
            cwd=self.home,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        node = ScrapydNode.from_url(self.auth_url)
        deadline = time.monotonic() + 30
        while True:
            try:
                node.daemon_status()
                return self
            except ScrapydError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(self.output()) from None
                time.sleep(0.2)

    def output(self) -> str:
        return (self.home / "scrapyd.out").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def shared_db(mongo_server: str) -> str:
    return f"{mongo_server}/scaleout_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as a user checks it out, away from the working tree's build leftovers."""
    target = tmp_path_factory.mktemp("project")
    for name in ("scrapy.cfg", "setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(
        ROOT / "tiercrawl",
        target / "tiercrawl",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    return target


def _deploy(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "scrapyd-deploy"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def egg(project: Path) -> Path:
    path = project.parent / "tiercrawl.egg"
    _deploy(project, "--build-egg", str(path))
    return path


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, shared_db: str, project: Path, egg: Path
) -> Iterator[list[ScrapydServer]]:
    home = tmp_path_factory.mktemp("scrapyd")
    servers: list[ScrapydServer] = []
    try:
        for index in range(2):
            servers.append(ScrapydServer(home / f"node{index}", shared_db).start())
        # One deploy target per node, credentials as a user's own scrapy.cfg holds them.
        with (project / "scrapy.cfg").open("a") as cfg:
            for index, server in enumerate(servers):
                cfg.write(
                    f"\n[deploy:node{index}]\nurl = {server.url}\n"
                    f"username = {USERNAME}\npassword = {PASSWORD}\n"
                )
        for index in range(len(servers)):
            result = _deploy(project, f"node{index}", "--egg", str(egg), "--version", "1")
            assert '"status": "ok"' in result.stdout, result.stdout + result.stderr
        yield servers
    finally:
        for server in servers:
            server.stop()


def _credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERCRAWL_SCRAPYD_USERNAME", USERNAME)
    monkeypatch.setenv("TIERCRAWL_SCRAPYD_PASSWORD", PASSWORD)


def _no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIERCRAWL_SCRAPYD_USERNAME", raising=False)
    monkeypatch.delenv("TIERCRAWL_SCRAPYD_PASSWORD", raising=False)


def _scheduled_run_id(out: str) -> str:
    found = re.search(r"schedule: run (\S+),", out)
    assert found is not None, out
    return found[1]


def _ended_run(store: Store, run_id: str, status: str) -> dict[str, Any]:
    run = store.runs.find_one({"_id": run_id})
    assert run is not None
    assert run["status"] == status
    assert run["finished_at"] is not None
    return run


def test_node_credentials_come_from_the_url_or_the_environment() -> None:
    node = ScrapydNode.from_url("http://ops%40acme:p%3Ass@crawl1:6800", env={})
    assert (node.url, node.username, node.password) == ("http://crawl1:6800/", "ops@acme", "p:ss")
    assert "p:ss" not in repr(node)
    env = {"TIERCRAWL_SCRAPYD_USERNAME": "env-user", "TIERCRAWL_SCRAPYD_PASSWORD": "env-pass"}
    from_env = ScrapydNode.from_url("https://crawl2/scrapyd", env=env)
    assert (from_env.url, from_env.username, from_env.password) == (
        "https://crawl2/scrapyd/",
        "env-user",
        "env-pass",
    )
    assert ScrapydNode.from_url("http://u:p@crawl3:6800/", env=env).username == "u"
    assert ScrapydNode.from_url("http://crawl3:6800/", env={}).username is None
    with pytest.raises(ScrapydError, match="http"):
        ScrapydNode.from_url("crawl4:6800", env={})


def test_credentials_are_not_sent_on_to_where_a_node_redirects() -> None:
    with Site("127.0.0.5") as node, Site("127.0.0.6") as elsewhere:
        elsewhere.add("/daemonstatus.json", '{"status": "ok"}', content_type="application/json")
        node.redirect("/daemonstatus.json", elsewhere.url("/daemonstatus.json"), status=302)
        url = node.base.replace("http://", "http://ops:s3cret@") + "/"
        assert ScrapydNode.from_url(url, env={}).daemon_status() == {"status": "ok"}
        assert node.last_headers["/daemonstatus.json"]["Authorization"].startswith("Basic ")
        assert "Authorization" not in elsewhere.last_headers["/daemonstatus.json"]


@pytest.mark.requires_scrapyd
def test_egg_carries_what_the_spider_needs(egg: Path) -> None:
    names = set(zipfile.ZipFile(egg).namelist())
    assert {
        "tiercrawl/settings.py",
        "tiercrawl/spiders/tiers.py",
        "tiercrawl/py.typed",
        # What the hashes of the nodes' compiled modules are checked against.
        *(f"tiercrawl/core/{source}" for source in SOURCES.values()),
    } <= names
    assert not any(name.endswith((".so", ".pyd", ".c")) for name in names)
    for path in (ROOT / "tiercrawl" / "jobs" / "templates").rglob("*"):
        if path.is_file():
            assert path.relative_to(ROOT).as_posix() in names
    assert not any(name.startswith("tests/") for name in names)
    entry_points = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert re.search(r"\[scrapy\]\s*settings\s*=\s*tiercrawl\.settings", entry_points)
    # As Scrapyd's runner does: activate the egg, then tiercrawl must come from it
    # and find registered domains with tldextract's bundled snapshot (no network here).
    check = (
        "import sys; from scrapyd.runner import activate_egg; activate_egg(sys.argv[1]);"
        "import tiercrawl, os; assert tiercrawl.__file__.startswith(sys.argv[1]), tiercrawl.__file__;"
        "from tiercrawl.core.urls import registered_domain;"
        "print(registered_domain('https://shop.example.co.uk/x'), os.environ['SCRAPY_SETTINGS_MODULE'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", check, str(egg)],
        cwd=egg.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["example.co.uk", "tiercrawl.settings"]


@pytest.mark.requires_scrapyd
def test_a_request_without_credentials_is_refused(
    nodes: list[ScrapydServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_credentials_in_env(monkeypatch)
    with pytest.raises(HTTPError) as refused:
        urlopen(nodes[0].url + "daemonstatus.json", timeout=10)
    assert refused.value.code == 401
    with pytest.raises(ScrapydError, match="credentials refused"):
        ScrapydNode.from_url(nodes[0].url).daemon_status()
    wrong = f"http://{USERNAME}:wrong@127.0.0.1:{nodes[1].port}/"
    with pytest.raises(ScrapydError, match="HTTP 401"):
        ScrapydNode.from_url(wrong).daemon_status()
    _credentials_in_env(monkeypatch)
    assert ScrapydNode.from_url(nodes[1].url).list_spiders("tiercrawl") == ["tiers"]


@pytest.mark.requires_scrapyd
def test_schedule_without_credentials_fails_before_anything_is_stored(
    nodes: list[ScrapydServer],
    shared_db: str,
    web: TestWeb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _no_credentials_in_env(monkeypatch)
    path = _campaign(web, tmp_path, "refused")
    code = main(["schedule", str(path), "--node", nodes[0].url, "--mongo-uri", shared_db])
    assert code == 1
    assert "credentials refused" in capsys.readouterr().err
    with closing(open_store(shared_db)) as store:
        assert store.runs.count_documents({"campaign": "refused"}) == 0
        # Not even the campaign: the stored one (a previous push) stays as it was.
        assert store.campaigns.count_documents({"name": "refused"}) == 0


def _campaign(web: TestWeb, tmp_path: Path, name: str) -> Path:
    """Three sites: the blog's pages on one shard, the money site and the forum on the other."""
    m, b, f = web.money.base, web.blog.base, web.forum.base
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"""name: {name}
money_site: {m}/
brand: [Acme]
keywords: [cordless drill]
tier1:
  - {{url: "{b}/best-drills", target: "{m}/drills/", anchor: Acme cordless drills}}
  - {{url: "{b}/nofollow-post", target: "{m}/saws/"}}
  - {{url: "{b}/missing-post", target: "{m}/drills/"}}
  - {{url: "{b}/moved", target: "{m}/old-drills"}}
  - {{url: "{b}/gone", target: "{m}/drills/"}}
tier2:
  - {{url: "{f}/t/1", target: "{b}/best-drills"}}
  - {{url: "{f}/t/2", target: "{b}/missing-post"}}
""",
        encoding="utf-8",
    )
    return path


def _placements(store: Store, run_id: str) -> dict[tuple[int, str, str], str]:
    found: dict[tuple[int, str, str], str] = {}
    for doc in store.placements.find({"run_id": run_id}):
        key = (doc["tier"], doc["url"], doc["target"])
        assert key not in found, f"placement {key} stored twice"
        found[key] = doc["status"]
    return found


@pytest.mark.requires_scrapyd
def test_a_campaign_scheduled_across_two_nodes(
    nodes: list[ScrapydServer],
    shared_db: str,
    web: TestWeb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _campaign(web, tmp_path, "scaled")
    settings = setting_args(JOB_SETTINGS)
    node_args = [arg for node in nodes for arg in ("--node", node.auth_url)]
    assert main(["schedule", str(path), *node_args, "--mongo-uri", shared_db, *settings]) == 0
    scheduled = capsys.readouterr().out
    run_id = _scheduled_run_id(scheduled)
    assert PASSWORD not in scheduled

    # status reads the node credentials from the environment this time.
    _credentials_in_env(monkeypatch)
    code = main(["status", run_id, "--wait", "120", "--mongo-uri", shared_db])
    shown = capsys.readouterr().out
    assert code == 0, shown + "".join(node.output() for node in nodes)
    assert "finished, 2 shard(s)" in shown

    with closing(open_store(shared_db)) as store:
        run = _ended_run(store, run_id, "finished")
        assert [s["status"] for s in run["shards"]] == ["finished", "finished"]
        assert run["shards"][0]["domains"] == ["127.0.0.3"]
        assert run["shards"][1]["domains"] == ["127.0.0.2", "127.0.0.4"]
        # status counted each shard's stored pages: all of them, once the run finished.
        assert sum(shard["page_count"] for shard in run["shards"]) == 10
        for shard in run["shards"]:
            count = shard["page_count"]
            assert f"shard {shard['index']}: finished" in shown
            assert f"pages {count}/{count}" in shown
        for shard, node in zip(run["shards"], nodes, strict=True):
            assert shard["node"] == node.url
            # The shard is recorded when its spider closes, just before the job ends.
            state = ScrapydNode.from_url(node.url).job_state("tiercrawl", shard["job_id"])
            assert state in ("running", "finished")
        assert run["stats"]["tiercrawl/pages"] == 10
        # The egg holds no compiled module, but the tiercrawl installed on the nodes (this
        # checkout) has them, built from the egg's very sources: the nodes extract compiled.
        for shard in run["shards"]:
            assert shard["stats"]["tiercrawl/extract/compiled_walk"] == 1
            assert shard["stats"]["tiercrawl/extract/compiled_copies"] == len(COPIES)

        pages = [doc["url"] for doc in store.pages.find({"run_id": run_id}, {"url": 1})]
        assert len(pages) == len(set(pages)) == 10
        links = [
            (doc["source_url"], doc["position"])
            for doc in store.links.find({"run_id": run_id}, {"source_url": 1, "position": 1})
        ]
        assert links
        assert len(links) == len(set(links))
        placements = _placements(store, run_id)
        assert len(placements) == 7
        assert run["stats"]["tiercrawl/placements"] == 7
        # The run scores like a single-process one.
        assert main(["score", "scaled", "--run", run_id, "--mongo-uri", shared_db]) == 0
        assert store.scores.count_documents({"run_id": run_id}) == 7

    # The same campaign crawled in one process gives the same verdicts: the
    # placements whose target another node crawled are judged alike.
    single_uri = f"{shared_db}_single"
    result = scrapy_crawl(path, single_uri, settings=JOB_SETTINGS)
    assert result.returncode == 0, result.stderr[-4000:]
    with closing(open_store(single_uri)) as single:
        single_run = single.latest_run("scaled")
        assert single_run is not None
        assert _placements(single, single_run["_id"]) == placements
    b, f = web.blog.base, web.forum.base
    assert placements[(2, f"{f}/t/1", f"{b}/best-drills")] == "live"
    assert placements[(1, f"{b}/best-drills", f"{web.money.base}/drills/")] == "live"


@pytest.mark.requires_scrapyd
def test_a_job_that_never_records_its_shard_fails_the_run(
    nodes: list[ScrapydServer],
    mongo_uri: str,
    web: TestWeb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run stored in another database than the nodes' own: its jobs end without a trace."""
    _credentials_in_env(monkeypatch)
    path = _campaign(web, tmp_path, "elsewhere")
    assert main(["schedule", str(path), "--node", nodes[0].url, "--mongo-uri", mongo_uri]) == 0
    run_id = _scheduled_run_id(capsys.readouterr().out)
    code = main(["status", run_id, "--wait", "120", "--mongo-uri", mongo_uri])
    shown = capsys.readouterr().out
    assert code == 1, shown
    assert "failed, 1 shard(s)" in shown
    assert "TIERCRAWL_MONGO_URI" in shown
    with closing(open_store(mongo_uri)) as store:
        _ended_run(store, run_id, "failed")
        assert store.pages.count_documents({"run_id": run_id}) == 0
