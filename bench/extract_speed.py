"""CPU time of ``tiercrawl.core.extract.extract_page``, per page.

Usage::

    .venv/bin/python bench/extract_speed.py                      # print the figures
    .venv/bin/python bench/extract_speed.py --save bench/out/extract-before.json
    .venv/bin/python bench/extract_speed.py --compare bench/out/extract-before.json
    .venv/bin/python bench/extract_speed.py --against old_extract --path /tmp/old
    .venv/bin/python bench/extract_speed.py --python-walk
    .venv/bin/python bench/extract_speed.py --render-check

Two inputs: (a) the labelled corpus pages (``placement-dev``, real pages, median
88 KB), decompressed before timing; (b) one generated article-like page of the
crawl benchmark (``crawlbench.site``, seed 2: ~28 KB, 73 links over header,
nav, article, comments, sidebar and footer). CPU time (``time.process_time``),
best of ``--repeats`` runs: for the corpus, each page's best time, then their
mean and median; for the generated page, the best mean over ``--loops`` calls.

``--against MODULE`` times a second ``extract_page`` (for instance the previous
version, copied out of git) in the same run, interleaved, and prints the ratio;
``--compare FILE`` prints the figures next to ones saved earlier with ``--save``;
``--python-walk`` times the extraction with the Python walk alongside the compiled
one (``tiercrawl.core.walk`` and ``_walk``), after checking that every page gives
the same facts with both; ``--render-check`` also times what ``auto`` rendering
does with every raw page before its extraction (``may_need_render``, then
``scan_page`` where that says yes), on the page's text as the spider has it,
and that check followed by the extraction on the same parse, as a crawl in
``auto`` mode does it.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crawlbench.corpus import DEFAULT_CORPUS, corpus_problem
from crawlbench.site import _Writer

PAGE_URL = "http://127.0.0.31:8000/tools/0.html"

Extract = Callable[..., Any]


def generated_page() -> str:
    """The first article of ``crawl_bench.py``'s default site (5,000 pages, seed 2)."""
    writer = _Writer(2, 8000)
    targets = [f"{writer.base('127.0.0.35')}/products/{n}.html" for n in range(50)]
    anchors = [writer.words(2, 3) for _ in targets]
    return writer.page("127.0.0.31", writer.words(4, 9).title(), (targets[0], anchors[0]), 5000)


def corpus_pages(corpus: Path, limit: int | None) -> list[tuple[bytes, str]]:
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    names = sorted(labels)[:limit]
    return [
        (gzip.decompress((corpus / "pages" / n).read_bytes()), labels[n]["url"]) for n in names
    ]


def _time_corpus(extracts: list[Extract], pages: list[tuple[bytes, str]], repeats: int) -> list:
    best = [[float("inf")] * len(pages) for _ in extracts]
    for repeat in range(repeats):
        # Each over all the pages in turn, as a crawl meets them: timed page by page, one
        # extraction after another would find the page's URLs and words in the caches the
        # one before filled. Who goes first changes from repeat to repeat.
        shift = repeat % len(extracts)
        for k in [*range(shift, len(extracts)), *range(shift)]:
            for i, (html, url) in enumerate(pages):
                started = time.process_time()
                extracts[k](html, url)
                elapsed = (time.process_time() - started) * 1000
                best[k][i] = min(best[k][i], elapsed)
    return [
        {"mean": statistics.fmean(times), "median": statistics.median(times)} for times in best
    ]


def _time_generated(extracts: list[Extract], html: str, repeats: int, loops: int) -> list:
    best = [float("inf")] * len(extracts)
    for _ in range(repeats):
        for k, extract in enumerate(extracts):
            started = time.process_time()
            for _ in range(loops):
                extract(html, PAGE_URL)
            best[k] = min(best[k], (time.process_time() - started) * 1000 / loops)
    return best


def _with_python_walk(extract_page: Extract) -> Extract:
    """``extract_page`` with the Python walk in place of the compiled one."""
    from tiercrawl.core import extract, walk

    def extract_with_python_walk(html: str | bytes, url: str) -> Any:
        compiled = extract.walk
        extract.walk = walk.walk
        try:
            return extract_page(html, url)
        finally:
            extract.walk = compiled

    return extract_with_python_walk


def _render_check(pages: list[tuple[bytes, str]]) -> tuple[Extract, Extract]:
    """Auto mode's look at a raw page (the script search, then the scan of a page with
    one), and that look followed by the page's extraction on the same parse, as in a crawl."""
    from tiercrawl.core.extract import extract_page, parse_page
    from tiercrawl.core.render import may_need_render, scan_page

    # Decoded before the timing: the spider has the page's text already.
    texts = {id(html): html.decode("utf-8", "replace") for html, _ in pages}

    def render_check(html: str | bytes, url: str) -> Any:
        text = texts[id(html)] if isinstance(html, bytes) else html
        return scan_page(parse_page(text), url) if may_need_render(200, text) else None

    def check_and_extract(html: str | bytes, url: str) -> Any:
        text = texts[id(html)] if isinstance(html, bytes) else html
        if not may_need_render(200, text):
            return extract_page(text, url)
        parsed = parse_page(text)
        scan_page(parsed, url)
        return extract_page(text, url, parsed=parsed)

    return render_check, check_and_extract


def _check_same(extracts: list[Extract], pages: list[tuple[bytes, str]]) -> None:
    for html, url in pages:
        first, *others = (asdict(extract(html, url)) for extract in extracts)
        if any(other != first for other in others):
            raise SystemExit(f"the extractions differ on {url}")
    print(f"same facts from both on all {len(pages)} pages")


def _figures(corpus: dict[str, float], generated: float) -> dict[str, float]:
    return {
        "corpus_mean_ms": round(corpus["mean"], 3),
        "corpus_median_ms": round(corpus["median"], 3),
        "generated_ms": round(generated, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="only the first N corpus pages")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--loops", type=int, default=50, help="calls per repeat, generated page")
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--compare", type=Path, help="print against figures saved with --save")
    parser.add_argument("--against", help="a module with another extract_page, timed alongside")
    parser.add_argument("--path", action="append", default=[], help="added to sys.path")
    parser.add_argument(
        "--python-walk", action="store_true", help="time the Python walk alongside, same run"
    )
    parser.add_argument(
        "--render-check", action="store_true", help="also time auto rendering's look at a page"
    )
    args = parser.parse_args(argv)
    if problem := corpus_problem(args.corpus):
        parser.error(problem)
    sys.path[:0] = args.path

    from tiercrawl.core.extract import extract_page

    extracts: list[Extract] = [extract_page]
    names = ["current"]
    if args.against:
        extracts.insert(0, importlib.import_module(args.against).extract_page)
        names.insert(0, args.against)
    elif args.python_walk:
        extracts.insert(0, _with_python_walk(extract_page))
        names.insert(0, "python walk")
    html = generated_page()
    facts = extract_page(html, PAGE_URL)
    print(f"generated page: {len(html.encode()) / 1000:.1f} KB, {len(facts.links)} links")
    pages = corpus_pages(args.corpus, args.limit)
    if args.python_walk:
        _check_same(extracts, [*pages, (html.encode(), PAGE_URL)])
    if args.render_check:
        extracts += _render_check(pages)
        names += ["render check", "check + extraction"]
    corpus = _time_corpus(extracts, pages, args.repeats)
    generated = _time_generated(extracts, html, args.repeats, args.loops)
    results = {n: _figures(c, g) for n, c, g in zip(names, corpus, generated, strict=True)}
    saved = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    if saved is not None:
        results = {"saved": saved, **results}
    print(f"CPU ms/page, best of {args.repeats}; corpus: {len(pages)} pages")
    width = max(len(name) for name in [*results, "ratio current/"]) + 2
    print(f"{'':{width}} {'corpus mean':>12} {'corpus median':>14} {'generated':>10}")
    for name, fig in results.items():
        print(
            f"{name:{width}} {fig['corpus_mean_ms']:12.2f} {fig['corpus_median_ms']:14.2f}"
            f" {fig['generated_ms']:10.2f}"
        )
    if names[0] != "current" or saved is not None:
        first, last = next(iter(results.values())), results["current"]
        print(f"ratio current/{next(iter(results))}")
        print(
            f"{'':{width}}"
            + "".join(
                f" {last[k] / first[k]:{w}.3f}"
                for k, w in (
                    ("corpus_mean_ms", 12),
                    ("corpus_median_ms", 14),
                    ("generated_ms", 10),
                )
            )
        )
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(results["current"], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
