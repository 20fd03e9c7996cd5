"""``tiercrawl crawl`` as a user runs it: a subprocess, progress on stderr, a summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import (
    TEST_CRAWL_SETTINGS,
    blog_campaign,
    run_python,
    setting_args,
    tiercrawl,
)
from tests.web import TestWeb, closed_port
from tiercrawl.store import open_store
from tiercrawl.store.embedded import stop_embedded


def test_crawl_shows_progress_and_summary(web: TestWeb, mongo_uri: str, tmp_path: Path) -> None:
    campaign = blog_campaign(web, tmp_path / "cli.yaml", "/best-drills", "/missing-post")
    settings = setting_args(TEST_CRAWL_SETTINGS)
    # Run from elsewhere than the project: the installed package carries its settings.
    result = tiercrawl(
        "crawl", str(campaign), "--render", "never", *settings, mongo_uri=mongo_uri, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "crawl: pages 3/3, errors 0" in result.stderr
    assert "placements: 1 live, 1 missing" in result.stdout
    assert ", 3 pages" in result.stdout


def test_crawl_refuses_a_bad_campaign(mongo_uri: str, tmp_path: Path) -> None:
    campaign = tmp_path / "bad.csv"
    campaign.write_text(
        "tier,url,target,anchor\n3,http://127.0.0.3/a,http://127.0.0.2/,\n1,http://127.0.0.3/b,mailto:x@y,\n",
        encoding="utf-8",
    )
    result = tiercrawl("crawl", str(campaign), mongo_uri=mongo_uri)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "bad.csv:2" in result.stderr
    assert "bad.csv:3" in result.stderr
    assert result.stderr.count("tiercrawl crawl:") >= 2


def test_crawl_of_a_missing_file(mongo_uri: str, tmp_path: Path) -> None:
    result = tiercrawl("crawl", str(tmp_path / "nope.yaml"), mongo_uri=mongo_uri)
    assert result.returncode == 1
    assert "nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_uri_the_embedded_store_serves_and_keeps_each_run(
    web: TestWeb, tmp_path: Path
) -> None:
    campaign = blog_campaign(web, tmp_path / "local.yaml", "/best-drills")
    home = tmp_path / "home"
    settings = setting_args(TEST_CRAWL_SETTINGS)
    for _ in range(2):
        result = run_python(
            *("-m", "tiercrawl.cli", "crawl", str(campaign), "--render", "never", *settings),
            cwd=tmp_path,
            env={"TIERCRAWL_HOME": str(home)},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "placements: 1 live" in result.stdout

    assert (home / "db").is_dir()
    # Each command stopped its store when it ended: this one opens the same data.
    store = open_store(home=home)
    try:
        runs = store.runs_of("local")
        assert [run["status"] for run in runs] == ["finished", "finished"]
        for run in runs:
            pages = {page["url"] for page in store.pages.find({"run_id": run["_id"]})}
            assert pages == {web.blog.url("/best-drills"), web.money.url("/drills/")}

        # While this process's store holds the data, another command says so.
        result = run_python(
            *("-m", "tiercrawl.cli", "crawl", str(campaign), "--render", "never", *settings),
            cwd=tmp_path,
            env={"TIERCRAWL_HOME": str(home)},
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"cannot start the embedded store in {home / 'db'}" in result.stderr
        assert "is another tiercrawl process using it?" in result.stderr
    finally:
        store.close()
        stop_embedded()


def _dead_site_campaign(path: Path) -> Path:
    base = f"http://127.0.0.1:{closed_port()}"
    path.write_text(
        f"name: dead\nmoney_site: {base}/\ntier1:\n  - url: {base}/a\n    target: {base}/m\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("TIERCRAWL_RENDER=bogus", "TIERCRAWL_RENDER: render mode 'bogus'"),
        ("CONCURRENT_REQUESTS=abc", "setting CONCURRENT_REQUESTS=abc: expected a whole number"),
        # Accepted before, it made `tiercrawl status` take the live crawl for abandoned.
        (
            "TIERCRAWL_HEARTBEAT_INTERVAL=-1",
            "setting TIERCRAWL_HEARTBEAT_INTERVAL=-1: expected a number, 0 or more",
        ),
        # The credentials stay out of the message.
        (
            "TIERCRAWL_PROXY=socks5://tier:s3cret@127.0.0.12:1080",
            "setting TIERCRAWL_PROXY=socks5://***@127.0.0.12:1080: expected a proxy URL",
        ),
    ],
)
def test_a_setting_that_stops_the_start_is_refused_cleanly(
    mongo_uri: str, tmp_path: Path, setting: str, message: str
) -> None:
    campaign = _dead_site_campaign(tmp_path / "dead.yaml")
    result = tiercrawl("crawl", str(campaign), "-s", setting, mongo_uri=mongo_uri)
    assert result.returncode == 2
    assert f"tiercrawl crawl: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dead_site_is_one_line_per_failure_without_tracebacks(
    mongo_uri: str, tmp_path: Path
) -> None:
    campaign = _dead_site_campaign(tmp_path / "dead.yaml")
    settings = setting_args(TEST_CRAWL_SETTINGS)
    result = tiercrawl("crawl", str(campaign), *settings, mongo_uri=mongo_uri)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Gave up retrying" in result.stderr
    assert "Traceback" not in result.stderr
    assert "placements: 1 inconclusive" in result.stdout


def test_ctrl_c_is_acknowledged_above_the_crawls_log_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    from tiercrawl.cli.crawl import _show_progress

    crawler_logger = logging.getLogger("scrapy.crawler")
    touched = [crawler_logger, logging.getLogger("tiercrawl.progress")]
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in touched]
    try:
        _show_progress()
        crawler_logger.info("Received SIGINT, shutting down gracefully. Send again to force ")
        crawler_logger.info("Overridden settings: {}")
    finally:
        for lg, (handlers, level, propagate) in zip(touched, saved, strict=True):
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
    err = capsys.readouterr().err
    assert "crawl: Received SIGINT, shutting down gracefully" in err
    assert "Overridden settings" not in err
