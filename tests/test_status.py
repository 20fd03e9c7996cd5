"""``tiercrawl status``: a shard whose node is gone does not keep its run running for ever."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.test_diff_job import mongo_uri_of
from tests.web import closed_port
from tiercrawl.cli import main
from tiercrawl.core.campaign import load_campaign
from tiercrawl.core.shards import plan_shards
from tiercrawl.jobs.runs import create_sharded_run, set_shard_job
from tiercrawl.store import Store


def test_a_shard_whose_node_stays_unreachable_is_failed_after_lost_after(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = load_campaign(ROOT / "tests" / "data" / "campaigns" / "acme-drills.yaml")
    shards = plan_shards(campaign.pages(), 1)
    node = f"http://127.0.0.1:{closed_port()}/"
    create_sharded_run(store, "r1", campaign, shards, nodes=[node], project="tiercrawl")
    set_shard_job(store, "r1", 0, "job-1")
    status = ["status", "r1", "--mongo-uri", mongo_uri_of(store)]
    # First seen unreachable: noted, the run goes on.
    assert main([*status, "--lost-after", "3600"]) == 0
    shard = store.runs.find_one({"_id": "r1"})["shards"][0]
    assert (shard["status"], shard["unreachable_since"] is not None) == ("pending", True)
    assert main([*status, "--lost-after", "3600"]) == 0
    # Unreachable for longer than --lost-after: the shard, and so the run, failed.
    assert main([*status, "--lost-after", "0"]) == 1
    run = store.runs.find_one({"_id": "r1"})
    assert (run["status"], run["shards"][0]["status"]) == ("failed", "failed")
    assert f"node {node} unreachable" in run["shards"][0]["close_reason"]
    capsys.readouterr()


def test_a_single_process_run_whose_heartbeat_stopped_is_failed(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    runs = {
        "alive": now - timedelta(seconds=30),
        "gone": now - timedelta(minutes=11),
    }
    for run_id, beat in runs.items():
        store.runs.insert_one(
            {
                "_id": run_id,
                "campaign": "acme",
                "status": "running",
                "started_at": now - timedelta(hours=1),
                "finished_at": None,
                "heartbeat_at": beat,
                "heartbeat_interval": 60.0,
            }
        )
    status = ["status", "--mongo-uri", mongo_uri_of(store)]
    assert main([*status, "alive"]) == 0
    assert main([*status, "gone"]) == 1
    assert store.runs.find_one({"_id": "alive"})["status"] == "running"
    gone = store.runs.find_one({"_id": "gone"})
    assert gone["status"] == "failed"
    assert gone["close_reason"].startswith("abandoned: no heartbeat since ")
    capsys.readouterr()


def test_a_node_that_refuses_the_credentials_is_not_unreachable(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from tiercrawl.demo.webserver import Site

    campaign = load_campaign(ROOT / "tests" / "data" / "campaigns" / "acme-drills.yaml")
    with Site("127.0.0.1") as scrapyd:
        scrapyd.add("/status.json", '{"status": "error"}', status=401)
        shards = plan_shards(campaign.pages(), 1)
        node = scrapyd.base + "/"
        create_sharded_run(store, "r2", campaign, shards, nodes=[node], project="tiercrawl")
        set_shard_job(store, "r2", 0, "job-2")
        assert main(["status", "r2", "--mongo-uri", mongo_uri_of(store), "--lost-after", "0"]) == 0
    shard = store.runs.find_one({"_id": "r2"})["shards"][0]
    assert (shard["status"], shard.get("unreachable_since")) == ("pending", None)
    assert "error (" in capsys.readouterr().out
