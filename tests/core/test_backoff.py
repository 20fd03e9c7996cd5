from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tiercrawl.core.backoff import retry_after_seconds, retry_delay

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),  # already past
        ("soon", None),
        ("\u00b2", None),  # a digit to str.isdigit(), not to float()
        ("-3", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_the_delay_doubles_at_each_retry_up_to_the_cap() -> None:
    assert [retry_delay(n, 1.0, 10.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_a_longer_retry_after_wins_but_not_beyond_the_cap() -> None:
    assert retry_delay(1, 1.0, 10.0, retry_after=3.0) == 3.0
    assert retry_delay(3, 1.0, 10.0, retry_after=3.0) == 4.0
    assert retry_delay(1, 1.0, 10.0, retry_after=3600.0) == 10.0


def test_no_back_off_still_honours_retry_after() -> None:
    assert retry_delay(2, 0.0, 10.0) == 0.0
    assert retry_delay(2, 0.0, 10.0, retry_after=2.0) == 2.0
