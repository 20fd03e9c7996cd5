"""The crawl benchmark (issue 2): tiercrawl against a bare Scrapy spider and advertools.

Usage: ``.venv/bin/python bench/crawl_bench.py [--pages 5000] [--quick] [--profile] [--rounds N]
[--corpus DIR [--copies 4]] [--render auto|always|never]``

Generates a deterministic site of article-like pages (~30 KB, ~70 links each)
on several loopback hosts, serves it with nginx, and measures in one run, one
contender after the other, with equal concurrency and AutoThrottle off:

* ``bare``: a Scrapy spider that fetches the same URLs and extracts nothing
  (the framework's ceiling);
* ``advertools``: advertools' ``crawl(url_list, follow_links=False)``, from
  ``bench/.venv-advertools`` (skipped, and said so, when that venv is missing);
* ``tiercrawl``: ``scrapy crawl tiers`` with the embedded store, as a first
  run uses it;
* ``tiercrawl+store``: the same crawl with the store in a process of its own
  (``TIERCRAWL_MONGO_URI``), which separates tiercrawl's own CPU from the
  store's, as with a production MongoDB on another machine.

``--corpus DIR`` crawls the real pages of a labelled corpus (``placement-dev``) instead,
``--copies`` times each (the targets of issue 2 are set for the generated site);
``--render`` is tiercrawl's ``TIERCRAWL_RENDER`` (default ``auto``, its own default).

``--rounds N`` runs the contenders N times, interleaved, and judges the
targets on the median of the rounds' ratios. Prints a table per round and
writes ``bench/out/crawl_bench.json``; each process's log
goes to ``bench/out/logs/``. See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import scrapy
from crawlbench.corpus import corpus_problem
from crawlbench.measure import Measurement, cpu_seconds, memory_kib, run_measured
from crawlbench.nginx import NGINX, free_port, serving
from crawlbench.site import ARTICLE_HOSTS, Site, corpus_site, generate_site
from crawlbench.store import store_server

from tiercrawl import settings as project

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
SCRAPY = Path(sys.executable).parent / "scrapy"
ADVERTOOLS_PYTHON = BENCH / ".venv-advertools" / "bin" / "python"
# The bare spider right before tiercrawl: this machine's speed drifts from one minute to
# the next (docs/benchmarks.md, run 45), and a ratio is best taken between neighbours.
# The slowest last: the report is written after each, so a cut-short run still tells most.
CONTENDERS = ("bare", "tiercrawl+store", "tiercrawl", "advertools")

# Equal for every contender: tiercrawl's own concurrency and politeness defaults,
# AutoThrottle off (it adapts delays to latency and would make runs incomparable).
SHARED_SETTINGS: dict[str, Any] = {
    "CONCURRENT_REQUESTS": project.CONCURRENT_REQUESTS,
    "CONCURRENT_REQUESTS_PER_DOMAIN": project.CONCURRENT_REQUESTS_PER_DOMAIN,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": True,
    "COOKIES_ENABLED": False,
    "USER_AGENT": project.USER_AGENT,
    "LOG_LEVEL": "INFO",
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
}
PROBE = "crawlbench.probe.BenchProbe"
# Targets of issue 2.
MAX_CPU_VS_BARE = 1.5
MIN_SPEED_VS_ADVERTOOLS = 3.0
MAX_RSS_GROWTH = 1.2


@dataclass
class Result:
    """One contender's crawl of the site."""

    name: str
    pages: int
    wall_s: float
    cpu_s: float  # the crawling process (for tiercrawl+store: without the store's process)
    max_rss_mib: float
    items: int | None = None  # Scrapy's item_scraped_count
    links_written: int | None = None
    store_batches: int | None = None  # write round trips of the sink
    peak_rss_mib_at: dict[str, float] = field(default_factory=dict)  # pages -> VmHWM
    rss_mib_at: dict[str, float] = field(default_factory=dict)  # pages -> VmRSS, at that moment
    gc_cpu_s: dict[str, float] = field(default_factory=dict)  # generation -> CPU s in the GC
    store_cpu_s: float | None = None  # the separate store process, during the crawl
    store_rss_mib: float | None = None
    # The machine is shared: the 1-minute load average when the run ended, for the record.
    load_avg: float = field(default_factory=lambda: os.getloadavg()[0])
    notes: list[str] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.pages

    @property
    def pages_per_cpu_s(self) -> float:
        """The throughput of one free core: the crawls are CPU-bound on loopback, and this
        figure, unlike pages/s, holds when other work shares the machine."""
        return self.pages / self.cpu_s

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pages_per_s"] = round(self.pages_per_s, 1)
        data["cpu_ms_per_page"] = round(self.cpu_ms_per_page, 3)
        data["pages_per_cpu_s"] = round(self.pages_per_cpu_s, 1)
        return data


class Bench:
    """The contenders' runs over one generated, served site."""

    def __init__(self, site: Site, work: Path, rss_at: list[int], render: str = "auto") -> None:
        self.site = site
        self.work = work
        self.rss_at = rss_at
        self.render = render

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a contender: ours, minus anything that would pick a store or
        settings module, plus ``bench/`` on the path for the probe."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("TIERCRAWL_MONGO_URI", "TIERCRAWL_HOME", "SCRAPY_SETTINGS_MODULE")
        }
        env["PYTHONPATH"] = str(BENCH)
        env.update(extra)
        return env

    def scrapy_args(self, name: str, extensions: dict[str, int]) -> list[str]:
        settings = {
            **SHARED_SETTINGS,
            "EXTENSIONS": {**extensions, PROBE: 1000},
            "BENCH_PROBE_FILE": str(self.probe_file(name)),
            "BENCH_RSS_AT": ",".join(map(str, self.rss_at)),
        }
        args: list[str] = []
        for key, value in settings.items():
            args += ["-s", f"{key}={json.dumps(value) if isinstance(value, dict) else value}"]
        return args

    def probe_file(self, name: str) -> Path:
        return self.work / f"probe-{name.replace('+', '-')}.json"

    def scrapy_result(self, name: str, measured: Measurement, **extra: Any) -> Result:
        _check(name, measured)
        probe = json.loads(self.probe_file(name).read_text(encoding="utf-8"))
        stats = probe["stats"]
        result = Result(
            name=name,
            pages=probe["pages"],
            wall_s=measured.wall_s,
            cpu_s=measured.cpu_s,
            max_rss_mib=measured.max_rss_kib / 1024,
            items=stats.get("item_scraped_count", 0),
            links_written=stats.get("tiercrawl/store/links_written"),
            store_batches=stats.get("tiercrawl/store/batches"),
            peak_rss_mib_at={k: v["hwm_kib"] / 1024 for k, v in probe["rss"].items()},
            rss_mib_at={k: v["rss_kib"] / 1024 for k, v in probe["rss"].items()},
            gc_cpu_s=probe["gc_cpu_s"],
            **extra,
        )
        ok = stats.get("downloader/response_status_count/200", 0)
        if ok != result.pages + len(self.site.hosts):  # the pages and one robots.txt per host
            result.notes.append(f"only {ok} responses were 200")
        if result.pages != self.site.pages:
            result.notes.append(f"{result.pages} pages of {self.site.pages} fetched")
        return result

    def bare(self) -> Result:
        """The bare spider, run outside the project (no scrapy.cfg, no tiercrawl settings)."""
        command = [
            str(SCRAPY),
            "runspider",
            str(BENCH / "crawlbench" / "bare_spider.py"),
            "-a",
            f"urls={self.site.urls}",
            *self.scrapy_args("bare", {}),
        ]
        measured = run_measured(command, cwd=self.work, env=self.env(), log=_log("bare"))
        return self.scrapy_result("bare", measured)

    def tiercrawl_command(self, name: str) -> list[str]:
        return [
            "crawl",
            "tiers",
            "-a",
            f"campaign={self.site.campaign}",
            *self.scrapy_args(name, project.EXTENSIONS),
            "-s",
            f"TIERCRAWL_RENDER={self.render}",
        ]

    def tiercrawl(self) -> Result:
        """tiercrawl with the embedded store (in the crawling process), fresh data directory."""
        env = self.env(TIERCRAWL_HOME=tempfile.mkdtemp(prefix="home-embedded-", dir=self.work))
        command = [str(SCRAPY), *self.tiercrawl_command("tiercrawl")]
        measured = run_measured(command, cwd=ROOT, env=env, log=_log("tiercrawl"))
        return self.scrapy_result("tiercrawl", measured)

    def tiercrawl_store(self) -> Result:
        """tiercrawl with the same store in a separate process; its CPU is counted apart."""
        name = "tiercrawl+store"
        with self.store_process("store-separate") as (pid, uri):
            before = cpu_seconds(pid)
            command = [str(SCRAPY), *self.tiercrawl_command(name)]
            env = self.env(TIERCRAWL_MONGO_URI=uri)
            measured = run_measured(command, cwd=ROOT, env=env, log=_log("tiercrawl-store"))
            store_cpu = cpu_seconds(pid) - before
            store_rss = memory_kib("VmHWM", pid) / 1024
        return self.scrapy_result(name, measured, store_cpu_s=store_cpu, store_rss_mib=store_rss)

    def profile(self) -> Path:
        """tiercrawl (store apart) under cProfile; returns the text report of the top functions.
        Not part of the table: the profiler slows the crawl down."""
        name = "profile"
        stats_file = OUT / "tiercrawl.prof"
        with self.store_process("store-profile") as (_, uri):
            command = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "scrapy"]
            command += self.tiercrawl_command(name)
            env = self.env(TIERCRAWL_MONGO_URI=uri)
            _check(name, run_measured(command, cwd=ROOT, env=env, log=_log(name)))
        report = OUT / "tiercrawl-profile.txt"
        with report.open("w", encoding="utf-8") as out:
            stats = pstats.Stats(str(stats_file), stream=out).strip_dirs()
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(40)
        return report

    def store_process(self, name: str) -> AbstractContextManager[tuple[int, str]]:
        # The embedded store's own process, started by hand: the crawl reaches it through
        # TIERCRAWL_MONGO_URI, and its CPU is read apart. A directory of its own each
        # time: a later round starts from an empty store too.
        data = tempfile.mkdtemp(prefix=f"{name}-", dir=self.work)
        return store_server(Path(data), env=self.env())

    def advertools(self) -> Result | None:
        if not ADVERTOOLS_PYTHON.exists():
            print(f"advertools skipped: no {ADVERTOOLS_PYTHON} (see bench/README.md)")
            return None
        output = self.work / "advertools.jl"
        # advertools appends to its output file: a later round would count the earlier rows too.
        output.unlink(missing_ok=True)
        command = [
            str(ADVERTOOLS_PYTHON),
            str(BENCH / "crawlbench" / "advertools_run.py"),
            str(self.site.urls),
            str(output),
            json.dumps(SHARED_SETTINGS),
        ]
        # advertools starts `scrapy` from PATH: its own venv's.
        env = self.env(PATH=f"{ADVERTOOLS_PYTHON.parent}{os.pathsep}{os.environ['PATH']}")
        log = _log("advertools")
        _check("advertools", run_measured(command, cwd=self.work, env=env, log=log))
        timing = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])
        rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
        if not rows:
            raise SystemExit(f"advertools crawled nothing: see {log}")
        result = Result(
            name="advertools",
            pages=len(rows),
            wall_s=timing["wall_s"],
            cpu_s=timing["user_s"] + timing["sys_s"],
            max_rss_mib=timing["max_rss_kib"] / 1024,
            items=len(rows),
            notes=[f"advertools {timing['advertools']}"],
        )
        ok = sum(row.get("status") == 200 for row in rows)
        if ok != self.site.pages:
            result.notes.append(f"{ok} of {self.site.pages} pages fetched with 200")
        return result


def _log(name: str) -> Path:
    return OUT / "logs" / f"{name}.log"


def _check(name: str, measured: Measurement) -> None:
    if measured.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {measured.returncode}: see {_log(name)}")


def _machine() -> dict[str, Any]:
    def first(path: str, prefix: str) -> str:
        lines = Path(path).read_text().splitlines()
        return next(
            (line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)), ""
        )

    nginx = subprocess.run(
        [NGINX, "-v"], check=False, capture_output=True, text=True
    ).stderr.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "memory": first("/proc/meminfo", "MemTotal"),
        "os": f"Debian {Path('/etc/debian_version').read_text().strip()}",
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "nginx": nginx.rsplit("/", 1)[-1],
    }


def _ratios(results: dict[str, Result]) -> dict[str, float]:
    """The figures issue 2 sets targets for, where the run has both sides."""
    ratios: dict[str, float] = {}
    bare, advertools = results.get("bare"), results.get("advertools")
    embedded, apart = results.get("tiercrawl"), results.get("tiercrawl+store")
    for result in (embedded, apart):
        if result is None:
            continue
        tag = "embedded" if result is embedded else "store_apart"
        if bare:
            ratios[f"cpu_per_page_vs_bare_{tag}"] = result.cpu_ms_per_page / bare.cpu_ms_per_page
            ratios[f"pages_per_s_vs_bare_{tag}"] = result.pages_per_s / bare.pages_per_s
        if advertools:
            ratios[f"pages_per_s_vs_advertools_{tag}"] = (
                result.pages_per_s / advertools.pages_per_s
            )
        marks = [result.peak_rss_mib_at[k] for k in sorted(result.peak_rss_mib_at) if k != "end"]
        if len(marks) >= 2:
            ratios[f"peak_rss_growth_{tag}"] = max(marks) / min(marks)
    if apart and apart.store_cpu_s is not None:
        ratios["store_cpu_share"] = apart.store_cpu_s / (apart.cpu_s + apart.store_cpu_s)
    if bare and advertools:
        ratios["advertools_cpu_per_page_vs_bare"] = (
            advertools.cpu_ms_per_page / bare.cpu_ms_per_page
        )
    return {key: round(value, 3) for key, value in ratios.items()}


def _verdicts(ratios: dict[str, float]) -> dict[str, bool]:
    checks = {
        "cpu_per_page_vs_bare_store_apart": lambda v: v <= MAX_CPU_VS_BARE,
        "pages_per_s_vs_advertools_embedded": lambda v: v >= MIN_SPEED_VS_ADVERTOOLS,
        "peak_rss_growth_embedded": lambda v: v <= MAX_RSS_GROWTH,
        "peak_rss_growth_store_apart": lambda v: v <= MAX_RSS_GROWTH,
    }
    return {key: check(ratios[key]) for key, check in checks.items() if key in ratios}


def _table(results: list[Result], rss_at: list[int]) -> str:
    bare = next((r for r in results if r.name == "bare"), None)
    marks = [str(n) for n in rss_at]
    head = ["contender", "pages", "wall s", "pages/s", "CPU s", "CPU ms/page", "pages/CPU s"]
    head += ["CPU vs bare"]
    head += [f"peak RSS MiB @{m}" for m in marks] + ["items", "store CPU s"]
    rows = [head, ["---"] * len(head)]
    for r in results:
        vs_bare = f"{r.cpu_ms_per_page / bare.cpu_ms_per_page:.2f}x" if bare else "-"
        rss = [f"{r.peak_rss_mib_at[m]:.0f}" if m in r.peak_rss_mib_at else "-" for m in marks]
        store = f"{r.store_cpu_s:.1f}" if r.store_cpu_s is not None else "-"
        rows.append(
            [
                r.name,
                str(r.pages),
                f"{r.wall_s:.1f}",
                f"{r.pages_per_s:.0f}",
                f"{r.cpu_s:.1f}",
                f"{r.cpu_ms_per_page:.2f}",
                f"{r.pages_per_cpu_s:.0f}",
                vs_bare,
                *rss,
                str(r.items),
                store,
            ]
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000, help="pages to crawl (default 5000)")
    parser.add_argument("--quick", action="store_true", help="a 300-page smoke run")
    parser.add_argument(
        "--rss-at", default="1000,5000", help="page counts at which to read the peak RSS"
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"which to run, comma-separated, maybe none (default: {','.join(CONTENDERS)})",
    )
    parser.add_argument("--profile", action="store_true", help="also profile tiercrawl")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--corpus", type=Path, help="crawl this labelled corpus's real pages")
    parser.add_argument("--copies", type=int, default=4, help="of each corpus page (default 4)")
    parser.add_argument("--render", choices=("auto", "always", "never"), default="auto")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the contenders this many times, interleaved, and judge the median ratios",
    )
    args = parser.parse_args(argv)
    pages, rss_at = (300, [100, 300]) if args.quick else (args.pages, _ints(args.rss_at))
    contenders = [name for name in args.contenders.split(",") if name]
    if args.corpus and (problem := corpus_problem(args.corpus)):
        parser.error(problem)
    if args.copies < 1:
        parser.error("--copies must be 1 or more")
    if unknown := set(contenders) - set(CONTENDERS):
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    if not Path(NGINX).exists():
        parser.error(
            f"nginx not found at {NGINX}: install Debian's nginx (apt-get install -y nginx)"
        )
    OUT.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="tiercrawl-bench-") as tmp:
        work = Path(tmp)
        port = free_port(ARTICLE_HOSTS[0])
        started = time.perf_counter()
        if args.corpus:
            site = corpus_site(work, args.corpus, args.copies, port)
        else:
            site = generate_site(work, pages, port, seed=args.seed)
        print(f"site: {site.pages} pages on {len(site.hosts)} hosts, port {port}, "
              f"generated in {time.perf_counter() - started:.0f} s")  # fmt: skip
        bench = Bench(site, work, rss_at, args.render)
        runs = {
            "bare": bench.bare,
            "advertools": bench.advertools,
            "tiercrawl": bench.tiercrawl,
            "tiercrawl+store": bench.tiercrawl_store,
        }
        rounds: list[dict[str, Result]] = []
        ratios: dict[str, float] = {}
        with serving(site.root, site.hosts, port, work / "nginx"):
            for number in range(1, max(1, args.rounds) + 1):
                results: dict[str, Result] = {}
                rounds.append(results)
                for name in contenders:
                    print(f"running {name} (round {number}) ...", flush=True)
                    result = runs[name]()
                    if result is not None:
                        results[name] = result
                        print(f"  {result.pages} pages in {result.wall_s:.1f} s, "
                              f"{result.cpu_s:.1f} CPU s {' '.join(result.notes)}", flush=True)  # fmt: skip
                        # Written after each contender, so a long run leaves what it has measured.
                        ratios = _write_report(bench, rounds)
            profile = bench.profile() if args.profile else None

    if any(rounds):
        for number, results in enumerate(rounds, 1):
            print(f"round {number}" if len(rounds) > 1 else "")
            print(_table(list(results.values()), rss_at))
        print(json.dumps({"ratios": ratios, "targets_met": _verdicts(ratios)}, indent=2))
        print(f"written: {OUT / 'crawl_bench.json'}")
    if profile:
        print(f"profile: {profile}")
    return 0


def _write_report(bench: Bench, rounds: list[dict[str, Result]]) -> dict[str, float]:
    """Writes crawl_bench.json; returns the ratios, the median of the rounds' for several.

    The bare spider's CPU per page varies by up to a fifth between runs of one
    session: one pair of runs cannot tell 1.45x from 1.6x, a median of rounds can.
    """
    each = [_ratios(results) for results in rounds]
    ratios = {
        key: round(statistics.median(r[key] for r in each if key in r), 3)
        for key in dict.fromkeys(k for r in each for k in r)
    }
    site = bench.site
    report = {
        "machine": _machine(),
        "pages": site.pages,
        "hosts": list(site.hosts),
        "mean_page_bytes": round(site.html_bytes / site.pages),
        "site": site.kind,
        "settings": {**SHARED_SETTINGS, "TIERCRAWL_RENDER": bench.render},
        "results": [r.as_dict() for r in rounds[0].values()],
        "rounds": [[r.as_dict() for r in results.values()] for results in rounds],
        "ratios_per_round": each,
        "ratios": ratios,
        "targets_met": _verdicts(ratios),
    }
    (OUT / "crawl_bench.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return ratios


def _ints(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(","))


if __name__ == "__main__":
    sys.exit(main())
