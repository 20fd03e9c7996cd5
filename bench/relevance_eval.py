"""Which relevance method ranks real pages better: TF-IDF cosine or a small embedding model.

Usage: ``.venv/bin/python bench/relevance_eval.py [--corpus DIR] [--no-embedding]``
(the embedding side needs ``pip install wordllama==0.4.0.post1``; tiercrawl does not).

The labelled set is built from real pages (``placement-dev``: news, blogs and
institutional pages in several languages). Each page's main text comes from
``tiercrawl.core.extract``, as in a crawl; pages with fewer than
``--min-words`` words are left out. Two tasks:

``halves``
    each page's first half is a "linking page", its second half the "target";
    every first half ranks all second halves. A hit is its own second half at
    rank 1. Reported: accuracy@1 and mean reciprocal rank (MRR).
``title->page``
    each page's title (a short text, like a link's anchor and context) ranks
    every page's main text; accuracy@1 and MRR as above.
``same-site``
    pairs of pages of the same site are positives (sites keep to their
    topics), pairs of pages of different sites negatives; reported: ROC AUC
    of the similarity, i.e. the chance that a random same-site pair scores
    above a random cross-site pair.

The embedding model is WordLlama (``wordllama`` on PyPI, whose package ships
its 256-dimension weights and tokenizer), loaded from the package directory
with downloads disabled. Also printed: the TF-IDF cosine quartiles of
positive and negative pairs, from which ``COSINE_FLOOR``/``COSINE_FULL`` in
``tiercrawl.core.relevance`` are set.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from crawlbench.corpus import DEFAULT_CORPUS, corpus_problem

from tiercrawl.core.extract import extract_page
from tiercrawl.core.relevance import TfidfIndex, cosine
from tiercrawl.core.urls import registered_domain

Similarity = Callable[[Sequence[str], Sequence[str]], list[list[float]]]


def load_texts(corpus: Path, min_words: int) -> list[tuple[str, str]]:
    """(site, main text) of every page with at least ``min_words`` words of main text."""
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    texts = []
    for name, entry in sorted(labels.items()):
        page = extract_page(gzip.decompress((corpus / "pages" / name).read_bytes()), entry["url"])
        text = f"{page.title or ''}\n{page.main_text}"
        if page.title and len(text.split()) >= min_words:
            texts.append((registered_domain(entry["url"]), text))
    return texts


def tfidf_similarity(queries: Sequence[str], docs: Sequence[str]) -> list[list[float]]:
    index = TfidfIndex([*queries, *docs])
    doc_vectors = [index.vector(d) for d in docs]
    query_vectors = [index.vector(q) for q in queries]
    return [[cosine(q, d) for d in doc_vectors] for q in query_vectors]


def embedding_similarity() -> Similarity:
    from pathlib import Path as _Path

    import wordllama

    model = wordllama.WordLlama.load(
        cache_dir=_Path(wordllama.__file__).parent, disable_download=True
    )

    def similarity(queries: Sequence[str], docs: Sequence[str]) -> list[list[float]]:
        q = model.embed(list(queries), norm=True)
        d = model.embed(list(docs), norm=True)
        return (q @ d.T).tolist()  # type: ignore[no-any-return]

    return similarity


def halves(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    first, second = [], []
    for text in texts:
        words = text.split()
        first.append(" ".join(words[: len(words) // 2]))
        second.append(" ".join(words[len(words) // 2 :]))
    return first, second


def titles(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """(title, the text without it) of each page: a short text, as an anchor and its context."""
    split = [text.split("\n", 1) for text in texts]
    return [parts[0] for parts in split], [parts[-1] for parts in split]


def ranking(sim: list[list[float]]) -> tuple[float, float]:
    """Accuracy@1 and MRR of the diagonal (query i's own document is i)."""
    hits, reciprocal = 0, 0.0
    for i, row in enumerate(sim):
        rank = 1 + sum(1 for j, value in enumerate(row) if j != i and value >= row[i])
        hits += rank == 1
        reciprocal += 1 / rank
    return hits / len(sim), reciprocal / len(sim)


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    ordered = sorted([(v, 1) for v in positives] + [(v, 0) for v in negatives])
    rank_sum, rank = 0.0, 1
    for _, group in itertools.groupby(ordered, key=lambda item: item[0]):
        members = list(group)
        mean_rank = rank + (len(members) - 1) / 2
        rank_sum += mean_rank * sum(label for _, label in members)
        rank += len(members)
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def site_pairs(
    sites: Sequence[str], seed: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    by_site: dict[str, list[int]] = defaultdict(list)
    for i, site in enumerate(sites):
        by_site[site].append(i)
    positives = [
        pair for members in by_site.values() for pair in itertools.combinations(members, 2)
    ]
    rng = random.Random(seed)
    negatives: set[tuple[int, int]] = set()
    while len(negatives) < 5 * len(positives):
        a, b = rng.sample(range(len(sites)), 2)
        if sites[a] != sites[b]:
            negatives.add((min(a, b), max(a, b)))
    return positives, sorted(negatives)


def quartiles(values: Sequence[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"{q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}"


def evaluate(name: str, similarity: Similarity, sites: list[str], texts: list[str]) -> None:
    started = time.perf_counter()
    first, second = halves(texts)
    halves_sim = similarity(first, second)
    top1, mrr = ranking(halves_sim)
    title_top1, title_mrr = ranking(similarity(*titles(texts)))
    full = similarity(texts, texts)
    positives, negatives = site_pairs(sites, seed=7)
    pos = [full[a][b] for a, b in positives]
    neg = [full[a][b] for a, b in negatives]
    elapsed = time.perf_counter() - started
    print(
        f"{name:10} halves: acc@1 {top1:.3f}  MRR {mrr:.3f} | same-site AUC {auc(pos, neg):.3f} "
        f"({len(pos)} pos / {len(neg)} neg) | quartiles pos {quartiles(pos)}, "
        f"neg {quartiles(neg)} | {elapsed:.1f} s"
    )
    own = [halves_sim[i][i] for i in range(len(texts))]
    others = [v for i, row in enumerate(halves_sim) for j, v in enumerate(row) if i != j]
    print(
        f"{'':10} title->page: acc@1 {title_top1:.3f}  MRR {title_mrr:.3f} | halves similarity "
        f"quartiles, own {quartiles(own)}, others {quartiles(others)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--min-words", type=int, default=150)
    parser.add_argument("--no-embedding", action="store_true")
    args = parser.parse_args(argv)
    if problem := corpus_problem(args.corpus):
        parser.error(problem)
    pages = load_texts(args.corpus, args.min_words)
    sites = [site for site, _ in pages]
    texts = [text for _, text in pages]
    multi = sum(1 for n in defaultdict(int, {s: sites.count(s) for s in sites}).values() if n > 1)
    print(
        f"{len(texts)} pages with >= {args.min_words} words, {len(set(sites))} sites "
        f"({multi} with 2+ pages)"
    )
    evaluate("tfidf", tfidf_similarity, sites, texts)
    if not args.no_embedding:
        evaluate("wordllama", embedding_similarity(), sites, texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
