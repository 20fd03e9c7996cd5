"""How long to wait before retrying a request: exponential back-off, and ``Retry-After``.

Pure: no Scrapy. Used by ``tiercrawl.retry.BackoffRetryMiddleware``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds", "retry_delay"]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for: delay-seconds or an HTTP date.

    None when the header is absent or unreadable; a date in the past is no wait.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²", which isdigit() accepts
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def retry_delay(retry: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before retry number ``retry`` (1 for the first): ``base``, doubled at each
    retry, or what the server asked for if longer; never more than ``cap``."""
    if base <= 0 and retry_after is None:
        return 0.0
    delay = base * 2 ** (max(retry, 1) - 1)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)
