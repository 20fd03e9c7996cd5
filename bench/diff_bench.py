"""Benchmark: `tiercrawl diff` between two runs of N placements on the embedded store.

    .venv/bin/python bench/diff_bench.py [--placements 100000 20000] [--runs 2] [--home DIR] [--rounds 2]

For each N, a child process fills an embedded store (SecantusDB, in-process,
as a first-time user gets it) with two finished runs of N placements, 5% of
which change (lost, rel flipped, moved to the footer, unread, noindexed),
and their placement digests, as `compute_placements` writes them with the
placements; ``--runs R`` stores R - 2 more runs before them, alike. Then, each in a fresh child process so the filling stays out of
the measured memory, and repeated ``--rounds`` times alternately:

* ``diff``: the diff job (`changes_between`), its wall time and peak RSS growth;
* ``plain``: the baseline, a plain read of the same documents: both runs'
  ``placements``, one ``find({"run_id": ...})`` each, iterated and dropped;
* ``history``: the history job over the stored runs, up to 14
  (`campaign_history`, as ``tiercrawl history`` and each report run it).

The load average is printed with each figure: the machine is shared.
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

from tiercrawl.testing import insert_finished_run, placement_document

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = "bench"
TARGET = "https://www.acme.example/drills/"
CONTEXT = "We tested twelve drills over a month and the Acme cordless drills stood out " * 3
_BATCH = 5000
PHASES = ("diff", "plain", "history")


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
        **placement_document(
            1 if i % 10 else 2,
            f"https://site{i % 5000}.example/post/{i}",
            TARGET,
            status,
            link if found else None,
            reason="",
            page_status=503 if kind == 3 else 200,
            page_error=None,
        ),
    }


def populate(home: Path, count: int, runs: int = 2) -> None:
    from tiercrawl.jobs.placements import digest_row, write_digests
    from tiercrawl.store import open_store

    store = open_store(home=home)
    store.ensure_indexes()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Runs before "old", alike: what the history (and a diff's look back) reads too.
    run_ids = [f"earlier-{n}" for n in range(runs - 2)] + ["old", "new"]
    for day, run_id in enumerate(run_ids):
        insert_finished_run(store, run_id, CAMPAIGN, start + timedelta(days=day), recheck_of=None)
        batch, pages, rows = [], [], []
        for i in range(count):
            changed = run_id == "new" and i % 100 < 5
            batch.append(_placement(run_id, i, changed))
            rows.append(digest_row(batch[-1]))
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
        write_digests(store, run_id, CAMPAIGN, rows)
    store.close()


def measure(home: Path, phase: str) -> dict[str, Any]:
    from tiercrawl.jobs.diff import changes_between
    from tiercrawl.jobs.history import campaign_history
    from tiercrawl.store import open_store

    store = open_store(home=home)
    store.runs.find_one()  # the embedded server is up before the clock starts
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    counts: dict[str, int] = {}
    if phase == "diff":
        _, changes = changes_between(store, CAMPAIGN)
        for change in changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
    elif phase == "history":
        for placement in campaign_history(store, CAMPAIGN).placements:
            counts[placement.timeline] = counts.get(placement.timeline, 0) + 1
    else:
        for run_id in ("old", "new"):
            read = sum(1 for _ in store.placements.find({"run_id": run_id}))
            counts[f"{run_id} documents"] = read
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store.close()
    return {
        "phase": phase,
        "seconds": round(seconds, 1),
        "counts": counts,
        "rss_before_mb": round(before / 1024),
        "rss_growth_mb": round((peak - before) / 1024),
        "load_before": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
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
    parser.add_argument(
        "--runs", type=int, default=2, help="runs stored, the diff's two the newest (default 2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="diff, plain read and history, alternately"
    )
    parser.add_argument("--phase", choices=("populate", *PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "populate":
        populate(args.home, args.placements[0], args.runs)
        return
    if args.phase in PHASES:
        print(json.dumps(measure(args.home, args.phase)))
        return
    base = args.home or Path(tempfile.mkdtemp(prefix="diff-bench-"))
    for count in args.placements:
        home = base / (str(count) if args.runs == 2 else f"{count}x{args.runs}")
        started = time.perf_counter()
        if not (home / "db").exists():
            fill = ("--placements", str(count), "--runs", str(args.runs))
            _child("--phase", "populate", "--home", str(home), *fill)
        filled = time.perf_counter() - started
        sizes = {"placements": count, "runs": args.runs}
        print(json.dumps({**sizes, "fill_seconds": round(filled)}), flush=True)
        for _ in range(args.rounds):
            for phase in PHASES:
                figures = json.loads(_child("--phase", phase, "--home", str(home)))
                print(json.dumps({**sizes, **figures}), flush=True)


if __name__ == "__main__":
    main()
