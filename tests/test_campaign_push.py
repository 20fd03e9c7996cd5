"""``tiercrawl campaign push``: campaigns stored in MongoDB, then crawled by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, scrapy_crawl
from tests.web import TestWeb
from tiercrawl.cli import main
from tiercrawl.core.campaign import load_campaign
from tiercrawl.store import Store

CAMPAIGNS = ROOT / "tests" / "data" / "campaigns"


def test_push_stores_the_validated_campaign(
    store: Store, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CAMPAIGNS / "acme-drills.yaml"
    assert main(["campaign", "push", str(path), "--mongo-uri", mongo_uri]) == 0
    assert "campaign acme-drills stored: 3 tier-1 and 2 tier-2 entries" in capsys.readouterr().out
    doc = store.campaigns.find_one({"name": "acme-drills"})
    assert doc is not None
    assert doc["campaign"] == load_campaign(path).to_dict()
    assert doc["pushed_at"] is not None


def test_a_second_push_replaces_the_first(
    store: Store, mongo_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CAMPAIGNS / "acme-drills.yaml"
    assert main(["campaign", "push", str(path), "--mongo-uri", mongo_uri]) == 0
    first = store.campaigns.find_one({"name": "acme-drills"})
    changed = tmp_path / "acme-drills.yaml"
    changed.write_text(
        path.read_text(encoding="utf-8").replace("keywords:", "keywords: [impact driver]\nx:"),
        encoding="utf-8",
    )
    # An invalid file (the unknown key) is refused and leaves the stored one alone.
    assert main(["campaign", "push", str(changed), "--mongo-uri", mongo_uri]) == 1
    assert store.campaigns.find_one({"name": "acme-drills"}) == first
    changed.write_text(
        path.read_text(encoding="utf-8").replace("brand: [Acme, Acme Tools]", "brand: [Acme]"),
        encoding="utf-8",
    )
    assert main(["campaign", "push", str(changed), "--mongo-uri", mongo_uri]) == 0
    assert "campaign acme-drills replaced" in capsys.readouterr().out
    docs = list(store.campaigns.find({"name": "acme-drills"}))
    assert len(docs) == 1
    assert docs[0]["campaign"]["brand"] == ["Acme"]
    assert first is not None
    assert docs[0]["pushed_at"] >= first["pushed_at"]


def test_an_invalid_campaign_is_refused_with_every_problem(
    store: Store, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CAMPAIGNS / "broken.yaml"
    assert main(["campaign", "push", str(path), "--mongo-uri", mongo_uri]) == 1
    err = capsys.readouterr().err
    problems = [line for line in err.splitlines() if line.startswith("tiercrawl campaign:")]
    assert len(problems) >= 4, err
    assert all("broken.yaml:" in line for line in problems)
    assert store.campaigns.count_documents({}) == 0


def test_push_a_csv_with_its_name_and_money_site(
    store: Store, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CAMPAIGNS / "acme-drills.csv"
    args = ["--name", "acme-csv", "--money-site", "https://www.acme.example/"]
    assert main(["campaign", "push", str(path), *args, "--mongo-uri", mongo_uri]) == 0
    doc = store.campaigns.find_one({"name": "acme-csv"})
    assert doc is not None
    assert doc["campaign"]["money_site"] == "https://www.acme.example/"
    assert main(["campaign", "list", "--mongo-uri", mongo_uri]) == 0
    assert "acme-csv\tpushed " in capsys.readouterr().out


def test_scrapy_crawl_loads_a_pushed_campaign_by_name(
    store: Store, mongo_uri: str, web: TestWeb, tmp_path: Path
) -> None:
    # Also a directory where the crawl runs (the project root): the stored campaign is meant.
    assert (ROOT / "docs").is_dir()
    path = tmp_path / "docs.yaml"
    path.write_text(
        "name: docs\n"
        f"money_site: {web.money.base}/\n"
        "tier1:\n"
        f"  - url: {web.blog.url('/best-drills')}\n"
        f"    target: {web.money.url('/drills/')}\n",
        encoding="utf-8",
    )
    assert main(["campaign", "push", str(path), "--mongo-uri", mongo_uri]) == 0
    path.unlink()
    result = scrapy_crawl("docs", mongo_uri)
    assert result.returncode == 0, result.stderr[-4000:]
    run = store.latest_run("docs")
    assert run is not None
    assert store.pages.count_documents({"run_id": run["_id"]}) == 2
    placement = store.placements.find_one({"run_id": run["_id"]})
    assert placement is not None
    assert placement["status"] == "live"


def test_an_unknown_name_says_how_to_push(mongo_uri: str) -> None:
    result = scrapy_crawl("never-pushed", mongo_uri)
    assert result.returncode == 1
    assert "tiercrawl campaign push FILE" in result.stderr
    assert "Traceback" not in result.stderr
