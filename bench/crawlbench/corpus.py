"""The labelled corpus of real pages (``placement-dev``) that several benchmarks read."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_CORPUS", "corpus_problem"]

DEFAULT_CORPUS = Path("/work/shared/corpus/placement-dev")


def corpus_problem(corpus: Path) -> str | None:
    """What makes ``corpus`` no labelled corpus (``labels.json`` and ``pages/``), or None."""
    if not (corpus / "labels.json").is_file():
        return f"--corpus {corpus}: no labels.json there (a corpus like placement-dev)"
    return None
