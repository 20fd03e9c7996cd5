"""``tiercrawl crawl`` as a user runs it: a subprocess, progress on stderr, a summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, TEST_CRAWL_SETTINGS
from tests.web import TestWeb


def tiercrawl(*args: str, mongo_uri: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TIERCRAWL_MONGO_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "tiercrawl.cli", *args, "--mongo-uri", mongo_uri],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_crawl_shows_progress_and_summary(web: TestWeb, mongo_uri: str, tmp_path: Path) -> None:
    campaign = tmp_path / "cli.yaml"
    campaign.write_text(
        "name: cli\n"
        f"money_site: {web.money.base}/\n"
        "tier1:\n"
        f"  - url: {web.blog.url('/best-drills')}\n"
        f"    target: {web.money.url('/drills/')}\n"
        f"  - url: {web.blog.url('/missing-post')}\n"
        f"    target: {web.money.url('/drills/')}\n",
        encoding="utf-8",
    )
    settings = [
        arg for name, value in TEST_CRAWL_SETTINGS.items() for arg in ("-s", f"{name}={value}")
    ]
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
