"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os

from tiercrawl.store import Store, open_store

__all__ = ["add_store_option", "open_store_from"]


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
