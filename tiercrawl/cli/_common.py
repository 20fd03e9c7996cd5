"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from tiercrawl.core.setting_values import CHECKED_SETTINGS, setting_problems
from tiercrawl.core.text import terminal_safe
from tiercrawl.exceptions import TiercrawlError, UsageError
from tiercrawl.paths import describe_os_error
from tiercrawl.scrapyd import ScrapydError, ScrapydNode
from tiercrawl.store import Store, open_store

_Number = TypeVar("_Number", int, float)

__all__ = [
    "add_output_option",
    "add_settings_option",
    "add_store_option",
    "check_settings",
    "non_negative_float",
    "non_negative_int",
    "open_store_from",
    "scrapyd_nodes",
    "write_output",
]


def add_settings_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``-s/--set NAME=VALUE``, repeatable, into ``args.set``: see `check_settings`."""
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE", help=help_text
    )


def check_settings(pairs: list[str]) -> None:
    """Refuse the ``-s`` options that are not ``NAME=VALUE``, or whose value a crawl cannot
    run with (`setting_problems`), all of them at once: ``schedule`` queues no job then."""
    problems = [f"-s {pair}: expected NAME=VALUE" for pair in pairs if "=" not in pair]
    values = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    problems += setting_problems({k: v for k, v in values.items() if k in CHECKED_SETTINGS})
    if problems:
        raise UsageError("bad -s option", problems)


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mongo-uri",
        default=None,
        help="MongoDB URI (default: $TIERCRAWL_MONGO_URI, else the embedded store in .tiercrawl/)",
    )


def store_uri(args: argparse.Namespace) -> str | None:
    return args.mongo_uri or os.environ.get("TIERCRAWL_MONGO_URI") or None


def open_store_from(args: argparse.Namespace) -> Store:
    store = open_store(store_uri(args))
    store.ensure_indexes()
    return store


def _output_path(value: str) -> str:
    if not value:
        raise argparse.ArgumentTypeError("an empty path: give a file, or - for standard output")
    return value


def add_output_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``-o/--output PATH`` into ``args.output``, written by `write_output` (``-``: stdout)."""
    parser.add_argument(
        "-o",
        "--output",
        type=_output_path,
        required=required,
        metavar="PATH",
        help="file to write (missing directories are created), or - for stdout"
        + ("" if required else " (the default)"),
    )


def write_output(path: str, text: str, what: str) -> None:
    """Write ``text`` to ``path``, creating its directories, or to stdout for ``-``, where
    control characters (in a crawled URL, say) are escaped: stdout is often a terminal.

    A file is written whole or not at all: into a file beside it, then renamed over it,
    so that a full disk leaves the previous report as it was, not half a new one.
    """
    if path == "-":
        sys.stdout.write(terminal_safe(text))
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8", newline="")
        partial.replace(target)
    except OSError as exc:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        raise TiercrawlError(f"{path}: cannot write the {what}: {describe_os_error(exc)}") from exc


def scrapyd_nodes(urls: list[str]) -> list[ScrapydNode]:
    """The ``--node`` URLs as nodes; each bad or repeated one is a usage error, all at once."""
    nodes: list[ScrapydNode] = []
    problems: list[str] = []
    for url in urls:
        try:
            nodes.append(ScrapydNode.from_url(url))
        except ScrapydError as exc:
            problems.append(f"--node {exc}")
    seen = [node.url for node in nodes]
    twice = sorted({url for url in seen if seen.count(url) > 1})
    problems += [f"--node {url} is given twice" for url in twice]
    if problems:
        raise UsageError("bad --node", problems)
    return nodes


def _non_negative(text: str, parse: Callable[[str], _Number], kind: str) -> _Number:
    try:
        value = parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse ``type``: a whole number, 0 or more."""
    return _non_negative(text, int, "a whole number")


def non_negative_float(text: str) -> float:
    """An argparse ``type``: a number, 0 or more."""
    return _non_negative(text, float, "a number")
