"""``tiercrawl demo``: the main job on the bundled demo web.

Serves the demo web on loopback, writes the demo campaign, then crawls,
scores and reports into the embedded store (or ``--mongo-uri``), and prints
where the results are.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tiercrawl.cli._common import add_store_option
from tiercrawl.core.render import RENDER_MODES
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.paths import describe_os_error
from tiercrawl.store import default_home


def _directory(value: str) -> Path:
    if not value:
        raise argparse.ArgumentTypeError("an empty path: give a directory")
    return Path(value)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="crawl, score and report the bundled demo campaign on a local demo web"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=_directory,
        default=None,
        help="directory for the campaign and reports (default: .tiercrawl/demo)",
    )
    parser.add_argument("--render", choices=RENDER_MODES, default="auto")
    add_store_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tiercrawl.cli import main
    from tiercrawl.demo.web import DemoWeb

    output: Path = args.output or default_home() / "demo"
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TiercrawlError(
            f"{output}: cannot create the demo directory: {describe_os_error(exc)}"
        ) from exc
    store_args = ["--mongo-uri", args.mongo_uri] if args.mongo_uri else []
    with DemoWeb() as web:
        campaign = output / "acme-demo.yaml"
        try:
            campaign.write_text(web.campaign_yaml, encoding="utf-8")
        except OSError as exc:
            raise TiercrawlError(
                f"{campaign}: cannot write the demo campaign: {describe_os_error(exc)}"
            ) from exc
        print(f"demo: web served on {', '.join(s.base for s in web.sites.values())}")
        print(f"demo: campaign {campaign}")
        code = main(["crawl", str(campaign), "--render", args.render, *store_args])
    if code != 0:
        return code
    for command in (["score", "acme-demo"],):
        if main([*command, *store_args]) != 0:
            return 1
    reports = {fmt: output / f"report.{fmt}" for fmt in ("html", "csv", "json")}
    for fmt, path in reports.items():
        if main(["report", "acme-demo", "--format", fmt, "-o", str(path), *store_args]) != 0:
            return 1
    print("demo: results")
    print(f"  store:  {args.mongo_uri or default_home() / 'db'} (database tiercrawl)")
    for fmt, path in reports.items():
        print(f"  {fmt:5s}: {path}")
    print(
        "demo: run it again, then `tiercrawl diff acme-demo` shows what changed between "
        "the runs, and `tiercrawl history acme-demo` each placement across them"
    )
    return 0
