"""Precision, recall and F1 of ``region == "content"`` on a labelled page corpus.

Usage: ``.venv/bin/python bench/region_f1.py [--corpus DIR] [--errors N]``

The corpus directory holds ``labels.json`` (``{file: {url, links: [{anchor_text,
label}]}}``, label ``content`` or ``boilerplate``) and ``pages/FILE`` (gzipped
HTML). A labelled link matches the page's extracted links with the same folded,
lower-cased anchor text; where several do, any of them may be the labelled one,
so a ``content`` label is met by any content link among them and a
``boilerplate`` label by any non-content one. Also prints the figures for the
even- and odd-indexed pages (sorted file names) apart, a guard against rules
that fit one half only; apart for the labels whose anchor text the page also
shows as plain text, outside any link (the corpus labels by text snippets, so
for those the snippet may have matched that text, not the link) and the
others; and the per-page extraction time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from crawlbench.corpus import DEFAULT_CORPUS, corpus_problem
from lxml import etree

from tiercrawl.core.extract import decode_html, extract_page

_PARSER = etree.HTMLParser(remove_comments=True, no_network=True, huge_tree=True)


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _text_outside_links(html: str) -> str:
    """The page's text without its links' text (nor scripts' and styles'), keyed as anchors are."""
    root = etree.fromstring(html.encode("utf-8", "replace"), _PARSER)
    if root is None:
        return ""
    etree.strip_elements(root, "a", "area", "script", "style", with_tail=False)
    return _key(" ".join(root.itertext()))


@dataclass
class Counts:
    """Confusion counts of ``region == "content"`` against the labels."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, *, predicted: bool, actual: bool) -> None:
        self.tp += predicted and actual
        self.fp += predicted and not actual
        self.fn += actual and not predicted
        self.tn += not predicted and not actual

    def summary(self) -> str:
        tp, fp, fn = self.tp, self.fp, self.fn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return (
            f"tp {tp}  fp {fp}  fn {fn}  tn {self.tn}"
            f"  precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--errors", type=int, default=0, help="print N misclassified links")
    args = parser.parse_args(argv)
    if problem := corpus_problem(args.corpus):
        parser.error(problem)

    labels = json.loads((args.corpus / "labels.json").read_text(encoding="utf-8"))
    total = Counts()
    halves = (Counts(), Counts())  # even- and odd-indexed pages
    by_text = (Counts(), Counts())  # anchor text only in links, also outside them
    unmatched = 0
    times: list[float] = []
    errors: list[str] = []
    for index, (name, entry) in enumerate(sorted(labels.items())):
        html = gzip.decompress((args.corpus / "pages" / name).read_bytes())
        started = time.process_time()  # CPU time: stable on a busy machine
        page = extract_page(html, entry["url"])
        times.append((time.process_time() - started) * 1000)
        outside = _text_outside_links(decode_html(html))
        regions: dict[str, set[str]] = {}
        for link in page.links:
            regions.setdefault(_key(link.anchor_text), set()).add(link.region)
        for labelled in entry["links"]:
            found = regions.get(_key(labelled["anchor_text"]))
            if found is None:
                unmatched += 1
                continue
            actual = labelled["label"] == "content"
            # Any same-text link may be the labelled one: the most favourable counts.
            predicted = "content" in found if actual else found == {"content"}
            total.add(predicted=predicted, actual=actual)
            halves[index % 2].add(predicted=predicted, actual=actual)
            by_text[_key(labelled["anchor_text"]) in outside].add(
                predicted=predicted, actual=actual
            )
            if predicted != actual:
                errors.append(
                    f"{name} {labelled['label']:11} {sorted(found)} {labelled['anchor_text']!r}"
                )

    times.sort()
    matched = total.tp + total.fp + total.fn + total.tn
    print(f"pages {len(labels)}  matched links {matched}  unmatched labels {unmatched}")
    print(f"all pages   {total.summary()}")
    print(f"even pages  {halves[0].summary()}")
    print(f"odd pages   {halves[1].summary()}")
    print(f"anchor text only in links     {by_text[0].summary()}")
    print(f"anchor text also outside them {by_text[1].summary()}")
    print(
        f"extraction CPU ms/page: median {statistics.median(times):.1f}"
        f"  p95 {times[int(len(times) * 0.95)]:.1f}  max {times[-1]:.1f}"
    )
    for line in errors[: args.errors]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
