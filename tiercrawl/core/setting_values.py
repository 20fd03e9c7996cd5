"""The numeric (and other checked) settings a crawl reads, and the values each may take.

Scrapy reads a setting with ``getint``/``getfloat`` when a component needs
it: ``abc`` fails with Python's bare "invalid literal for int()", and a
negative value passes. A negative ``TIERCRAWL_HEARTBEAT_INTERVAL`` made
every live run look abandoned; a negative ``DOWNLOAD_TIMEOUT`` failed every
fetch, robots.txt first, so every page was stored as forbidden. The crawl
checks them all before it starts (`setting_problems`) and names each bad one.
A proxy URL Scrapy cannot use would fail every fetch in the same way, each
page stored as a ``connection`` error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tiercrawl.core.urls import hide_credentials

__all__ = ["CHECKED_SETTINGS", "setting_problems"]

# name: (kind, least value); those in _ABOVE are above the value, not at least it.
_NUMBERS: dict[str, tuple[type[int | float], float]] = {
    "TIERCRAWL_CONTEXT_CHARS": (int, 0),
    "TIERCRAWL_GC_THRESHOLD": (int, 0),
    "TIERCRAWL_HEARTBEAT_INTERVAL": (float, 0),
    "TIERCRAWL_KEEP_RUNS": (int, 0),
    "TIERCRAWL_MONGO_BATCH_SIZE": (int, 1),
    "TIERCRAWL_MONGO_CONCURRENT_WRITES": (int, 1),
    "TIERCRAWL_PROGRESS_INTERVAL": (float, 0),
    "TIERCRAWL_RENDER_CONCURRENCY": (int, 1),
    "TIERCRAWL_RENDER_PAGES_PER_CONTEXT": (int, 1),
    "TIERCRAWL_RENDER_QUIET": (float, 0),
    "TIERCRAWL_RENDER_SETTLE": (float, 0),
    "TIERCRAWL_RENDER_SHELL_TEXT": (int, 0),
    "TIERCRAWL_RENDER_TIMEOUT": (float, 0),
    "TIERCRAWL_RETRY_BACKOFF": (float, 0),
    "TIERCRAWL_RETRY_BACKOFF_MAX": (float, 0),
    # Scrapy's, on which the verdicts depend.
    "CONCURRENT_REQUESTS": (int, 1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": (int, 1),
    "DOWNLOAD_DELAY": (float, 0),
    "DOWNLOAD_MAXSIZE": (int, 0),
    "DOWNLOAD_TIMEOUT": (float, 0),
    "REDIRECT_MAX_TIMES": (int, 0),
    "RETRY_TIMES": (int, 0),
}
_ABOVE = frozenset({"DOWNLOAD_TIMEOUT", "TIERCRAWL_RENDER_TIMEOUT"})
# As Scrapy's getbool reads them.
_BOOLEANS = frozenset({"TIERCRAWL_GC_FREEZE"})
_BOOLEAN_TEXTS = frozenset({"0", "1", "true", "false"})

# Proxy URLs: Scrapy speaks to HTTP(S) proxies only.
_PROXIES = frozenset({"TIERCRAWL_PROXY"})
_PROXY_SCHEMES = frozenset({"http", "https"})

CHECKED_SETTINGS = frozenset(_NUMBERS) | _BOOLEANS | _PROXIES


def _number(value: Any, kind: type[int | float]) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def setting_problems(values: Mapping[str, Any]) -> list[str]:
    """One message per value of ``values`` (settings by name) a crawl cannot run with."""
    problems = []
    for name, value in values.items():
        if value is None:
            continue
        if name in _PROXIES:
            if problem := _proxy_problem(str(value).strip()):
                problems.append(f"setting {name}={hide_credentials(str(value))}: {problem}")
            continue
        if name in _BOOLEANS:
            if (
                not isinstance(value, bool | int)
                and str(value).strip().lower() not in _BOOLEAN_TEXTS
            ):
                problems.append(f"setting {name}={value}: expected True or False")
            continue
        kind, least = _NUMBERS[name]
        number = _number(value, kind)
        what = "a whole number" if kind is int else "a number"
        if name in _ABOVE:
            bound = f"above {least:g}"
            fits = number is not None and number > least
        else:
            bound = f"{least:g} or more"
            fits = number is not None and number >= least
        if not fits:
            problems.append(f"setting {name}={value}: expected {what}, {bound}")
    return problems


def _proxy_problem(url: str) -> str | None:
    if not url:
        return None  # no proxy
    expected = "expected a proxy URL such as http://user:password@host:port"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number or out of range
    except ValueError:
        return expected
    if parts.scheme not in _PROXY_SCHEMES:
        return f"{expected} (http or https; Scrapy speaks to no other proxies)"
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        return expected
    return None
