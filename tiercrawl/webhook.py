"""Delivering a diff to a webhook: a JSON POST, retried with back-off, never silently dropped.

`deliver` retries on connection errors, timeouts, 429 and 5xx, waiting
``backoff * 2**attempt`` seconds between ``attempts`` tries; any other 4xx is
final (the receiver refused the payload, sending it again will not help).
When every try fails, the payload is written to ``TIERCRAWL_HOME/undelivered/``
and `WebhookError` says where, so the caller reports it and exits non-zero.
A redirect is a failure too: urllib would follow it with a GET without the
payload, and report the receiver's answer as a delivery.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tiercrawl import __version__
from tiercrawl.exceptions import TiercrawlError
from tiercrawl.store import default_home

__all__ = ["Delivery", "WebhookError", "deliver"]

_RETRY_STATUSES = frozenset({408, 425, 429})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


class WebhookError(TiercrawlError):
    """Every delivery attempt failed; ``spool`` is where the payload was kept."""

    def __init__(self, message: str, spool: Path) -> None:
        super().__init__(message)
        self.spool = spool


@dataclass(frozen=True)
class Delivery:
    status: int
    attempts: int


def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 4,
    backoff: float = 1.0,
    timeout: float = 10.0,
    spool_dir: Path | None = None,
) -> Delivery:
    """POST ``payload`` as JSON to ``url``; raise `WebhookError` when it cannot be delivered."""
    body = json.dumps(payload, default=str).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"tiercrawl/{__version__} (webhook)",
        },
    )
    failure = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return Delivery(status=response.status, attempts=attempt + 1)
        except urllib.error.HTTPError as exc:
            failure = f"HTTP {exc.code}"
            if 300 <= exc.code < 400:
                location = exc.headers.get("Location")
                failure += (
                    f", a redirect to {_shown_url(location)}" if location else ", a redirect"
                )
            if exc.code < 500 and exc.code not in _RETRY_STATUSES:
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            failure = str(getattr(exc, "reason", exc))
    spool = _spool(body, spool_dir or default_home() / "undelivered")
    raise WebhookError(
        f"webhook {_shown_url(url)} not delivered after {attempt + 1} attempt(s) ({failure}); "
        f"payload kept in {spool}",
        spool,
    )


def _shown_url(url: str) -> str:
    """``url`` as messages show it: a webhook's path and query are often its secret token."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    hidden = "/..." if parts.path.strip("/") or parts.query else parts.path
    return f"{parts.scheme}://{host}{hidden}"


def _spool(body: bytes, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"diff-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.json"
    path.write_bytes(body)
    return path
