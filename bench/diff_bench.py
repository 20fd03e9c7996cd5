"""Benchmark: `tiercrawl diff` between two runs of N placements on the embedded store.

    .venv/bin/python bench/diff_bench.py [--placements 100000 20000] [--home DIR]

For each N, a child process fills an embedded store (SecantusDB, in-process,
as a first-time user gets it) with two finished runs of N placements, 5% of
which change (lost, rel flipped, moved to the footer, unread, noindexed);
another child process runs the diff job and reports its wall time and peak
RSS growth. Separate processes keep the filling out of the measured memory.
Figures go to docs/monitoring.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = "bench"
TARGET = "https://www.acme.example/drills/"
CONTEXT = "We tested twelve drills over a month and the Acme cordless drills stood out " * 3
_BATCH = 5000


def _placement(run_id: str, i: int, changed: bool) -> dict[str, Any]:
    kind = i % 100 if changed else -1
    status = {0: "missing", 3: "inconclusive", 4: "not_indexable", 1: "nofollow"}.get(kind, "live")
    found = status in ("live", "nofollow", "not_indexable")
    link = {
        "url": TARGET,
        "anchor_text": "Acme cordless drills",
        "rel": ["nofollow"] if kind == 1 else [],
        "nofollow": kind == 1,
        "region": "footer" if kind == 2 else "content",
        "position": 7,
        "context": CONTEXT,
        "hidden": False,
        "rendered_only": False,
    }
    return {
        "run_id": run_id,
        "campaign": CAMPAIGN,
        "tier": 1 if i % 10 else 2,
        "url": f"https://site{i % 5000}.example/post/{i}",
        "target": TARGET,
        "found": found,
        "link": link if found else None,
        "link_count": int(found),
        "status": status,
        "reason": "",
        "expected_anchor": None,
        "anchor_matches": None,
        "page_status": 503 if kind == 3 else 200,
        "page_error": None,
    }


def populate(home: Path, count: int) -> None:
    from tiercrawl.store import open_store

    store = open_store(home=home)
    store.ensure_indexes()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day, run_id in enumerate(("old", "new")):
        store.runs.insert_one(
            {
                "_id": run_id,
                "campaign": CAMPAIGN,
                "status": "finished",
                "started_at": start + timedelta(days=day),
                "recheck_of": None,
            }
        )
        batch, pages = [], []
        for i in range(count):
            changed = run_id == "new" and i % 100 < 5
            batch.append(_placement(run_id, i, changed))
            if i % 100 == 4:
                pages.append(
                    {
                        "run_id": run_id,
                        "url": batch[-1]["url"],
                        "indexable": not changed,
                        "indexability": ["noindex"] if changed else [],
                    }
                )
            if len(batch) == _BATCH:
                store.placements.insert_many(batch)
                batch = []
        if batch:
            store.placements.insert_many(batch)
        if pages:
            store.pages.insert_many(pages)
    store.close()


def measure(home: Path) -> dict[str, Any]:
    from tiercrawl.jobs.diff import changes_between
    from tiercrawl.store import open_store

    store = open_store(home=home)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    _, changes = changes_between(store, CAMPAIGN)
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store.close()
    return {
        "seconds": round(seconds, 1),
        "changes": counts,
        "rss_before_mb": round(before / 1024),
        "rss_growth_mb": round((peak - before) / 1024),
        "cpu_count": os.cpu_count(),
    }


def _child(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, nargs="+", default=[100_000])
    parser.add_argument("--home", type=Path, help="keep the stores here (default: a temp dir)")
    parser.add_argument("--phase", choices=("populate", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "populate":
        populate(args.home, args.placements[0])
        return
    if args.phase == "measure":
        print(json.dumps(measure(args.home)))
        return
    base = args.home or Path(tempfile.mkdtemp(prefix="diff-bench-"))
    for count in args.placements:
        home = base / str(count)
        started = time.perf_counter()
        if not (home / "db").exists():
            _child("--phase", "populate", "--home", str(home), "--placements", str(count))
        filled = time.perf_counter() - started
        figures = json.loads(
            _child("--phase", "measure", "--home", str(home), "--placements", str(count))
        )
        print(json.dumps({"placements": count, "fill_seconds": round(filled), **figures}))


if __name__ == "__main__":
    main()
