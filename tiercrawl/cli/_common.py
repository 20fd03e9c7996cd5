"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os

from tiercrawl.exceptions import UsageError
from tiercrawl.store import Store, open_store

__all__ = ["add_settings_option", "add_store_option", "check_settings", "open_store_from"]


def add_settings_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``-s/--set NAME=VALUE``, repeatable, into ``args.set``: see `check_settings`."""
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE", help=help_text
    )


def check_settings(pairs: list[str]) -> None:
    """Refuse the ``-s`` options that are not ``NAME=VALUE``, all of them at once."""
    bad = [pair for pair in pairs if "=" not in pair]
    if bad:
        raise UsageError("bad -s option", [f"-s {pair}: expected NAME=VALUE" for pair in bad])


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
