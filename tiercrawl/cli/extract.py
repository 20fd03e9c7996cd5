"""``tiercrawl extract --url URL FILE``: the links of one saved HTML page, one JSON object a line.

For checking what the crawler would see on a page without crawling it: the
fields are the contract's ``links`` fields, with ``source_url`` set to URL
(there is no run or campaign).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tiercrawl.cli._common import non_negative_int, write_output
from tiercrawl.core.extract import extract_page
from tiercrawl.core.urls import is_http_url
from tiercrawl.exceptions import TiercrawlError, UsageError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "extract", help="print the links of one saved HTML page as JSON lines"
    )
    parser.add_argument(
        "--url",
        required=True,
        help="the URL the page was fetched from (its final URL): resolves relative links",
    )
    parser.add_argument(
        "--context-chars",
        type=non_negative_int,
        default=300,
        metavar="N",
        help="about how many characters of text around each link to keep (default: 300)",
    )
    parser.add_argument("file", help="the saved HTML page")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one JSON object per link of ``args.file``, in document order."""
    if not is_http_url(args.url):
        raise UsageError(f"--url must be an absolute http(s) URL, not {args.url!r}")
    try:
        html = Path(args.file).read_bytes()
    except OSError as exc:
        raise TiercrawlError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    page = extract_page(html, args.url, context_chars=args.context_chars)
    lines = [
        json.dumps({"source_url": args.url, **asdict(link)}, ensure_ascii=False) + "\n"
        for link in page.links
    ]
    write_output("-", "".join(lines), "links")
    if page.truncated:
        print(
            f"tiercrawl extract: {args.file}: nested deeper than the parser reads (2,048 "
            "levels): the links after that point are missing from the list",
            file=sys.stderr,
        )
    return 0
