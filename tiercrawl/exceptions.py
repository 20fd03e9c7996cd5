"""The exceptions tiercrawl raises for user-facing problems.

::

    TiercrawlError
    ├── CampaignError   a campaign file or stored campaign is invalid (carries every problem)
    ├── StoreError      the database cannot be reached or refused an operation
    └── UsageError      a command was called with arguments that do not fit

The CLI turns each into one message per problem and exit code 1; nothing a user
can cause should end in a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CampaignError", "StoreError", "TiercrawlError", "UsageError", "start_error"]


class TiercrawlError(Exception):
    """Base class: a problem a user can fix, reported without a traceback."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) or [message]


class CampaignError(TiercrawlError):
    """The campaign is invalid; ``problems`` lists each problem with its line or entry."""


class StoreError(TiercrawlError):
    """The MongoDB store cannot be opened or used."""


class UsageError(TiercrawlError):
    """A command's arguments do not fit together."""


def start_error(exc: BaseException) -> TiercrawlError | None:
    """What to tell the user of ``exc``, which stopped a crawl before it started.

    A ``TiercrawlError`` as it is; a ``ValueError``, which Scrapy raises for a
    setting of the wrong type (``-s CONCURRENT_REQUESTS=abc``), as a usage
    error; None for anything else, a bug, to be shown with its traceback.
    """
    if isinstance(exc, TiercrawlError):
        return exc
    if isinstance(exc, ValueError):
        return UsageError(f"the crawl could not start: {exc}")
    return None
