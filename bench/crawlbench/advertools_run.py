"""Run advertools' ``crawl`` on a URL list; print the crawl's own wall and CPU time as JSON.

``bench/.venv-advertools/bin/python advertools_run.py URLS.txt OUT.jl SETTINGS_JSON``

advertools runs ``scrapy runspider`` in child processes (one per ~100,000
characters of URLs), so the crawl's CPU is that of the children, read with
``RUSAGE_CHILDREN`` around the call; importing advertools (pandas) is left out.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import advertools


def main(urls_file: str, output_file: str, settings_json: str) -> None:
    urls = Path(urls_file).read_text(encoding="utf-8").split()
    # advertools' default allowed_domains are the URLs' netlocs, which Scrapy's
    # offsite filter never matches when they carry a port: give the bare hosts.
    hosts = sorted({urlsplit(url).hostname or "" for url in urls})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    advertools.crawl(
        urls,
        output_file,
        follow_links=False,
        allowed_domains=hosts,
        custom_settings=json.loads(settings_json),
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "wall_s": wall,
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "max_rss_kib": after.ru_maxrss,
        "advertools": advertools.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:4])
