"""The ``tiercrawl`` command line.

Each subcommand is a module of this package with ``add_parser(subparsers)``
and ``run(args) -> int``. Exit codes: 0 success, 1 a ``TiercrawlError`` (one
message per problem on stderr), 2 a usage error (argparse's convention), 130
interrupted, 141 the reader of stdout went away (``| head``), as for a tool
that SIGPIPE ended.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence

from tiercrawl import __version__
from tiercrawl.exceptions import TiercrawlError, UsageError

__all__ = ["main"]

_EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

# Subcommand modules, in the order ``--help`` lists them.
COMMANDS = [
    "crawl",
    "extract",
    "demo",
    "campaign",
    "schedule",
    "status",
    "score",
    "report",
    "diff",
    "history",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiercrawl", description="Crawl, verify and score tiered backlink campaigns."
    )
    parser.add_argument("--version", action="version", version=f"tiercrawl {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tiercrawl.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A character the terminal's encoding lacks (a Chinese anchor, LC_ALL=en_US.ISO-8859-1)
    # is written escaped, not a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(argv)  # imports every subcommand: a while
    except KeyboardInterrupt:
        print("tiercrawl: interrupted", file=sys.stderr)
        return 130
    try:
        code = int(args.run(args))
        # Flushed here, where a closed pipe can still be handled.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Quiet, as Unix tools are. Python's docs (signal, "Note on SIGPIPE"): point stdout
        # at devnull, or the flush at exit fails on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _EXIT_BROKEN_PIPE
    except UsageError as exc:
        for problem in exc.problems:
            print(f"tiercrawl {args.command}: {problem}", file=sys.stderr)
        return 2
    except TiercrawlError as exc:
        for problem in exc.problems:
            print(f"tiercrawl {args.command}: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tiercrawl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
