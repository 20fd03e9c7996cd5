from __future__ import annotations

from typing import Any

import pytest

from tiercrawl import settings as defaults
from tiercrawl.core.setting_values import CHECKED_SETTINGS, setting_problems


def test_the_projects_own_settings_pass() -> None:
    values = {name: getattr(defaults, name, None) for name in CHECKED_SETTINGS}
    assert setting_problems(values) == []


_PROXY_EXPECTED = "expected a proxy URL such as http://user:password@host:port"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("TIERCRAWL_HEARTBEAT_INTERVAL", "-1", "expected a number, 0 or more"),
        ("TIERCRAWL_MONGO_BATCH_SIZE", "abc", "expected a whole number, 1 or more"),
        ("TIERCRAWL_MONGO_CONCURRENT_WRITES", 0, "expected a whole number, 1 or more"),
        ("CONCURRENT_REQUESTS", "1.5", "expected a whole number, 1 or more"),
        ("DOWNLOAD_TIMEOUT", "-1", "expected a number, above 0"),
        ("DOWNLOAD_TIMEOUT", "0", "expected a number, above 0"),
        ("TIERCRAWL_RETRY_BACKOFF", "nan", "expected a number, 0 or more"),
        ("TIERCRAWL_CONTEXT_CHARS", "-5", "expected a whole number, 0 or more"),
        ("TIERCRAWL_GC_FREEZE", "maybe", "expected True or False"),
        ("TIERCRAWL_PROXY", "http://proxy.test:99999", _PROXY_EXPECTED),
        ("TIERCRAWL_PROXY", "http://", _PROXY_EXPECTED),
        ("TIERCRAWL_PROXY", "http://proxy.test:3128/path", _PROXY_EXPECTED),
        (
            "TIERCRAWL_PROXY",
            "socks5://proxy.test:1080",
            f"{_PROXY_EXPECTED} (http or https; Scrapy speaks to no other proxies)",
        ),
    ],
)
def test_a_bad_value_is_named(name: str, value: Any, problem: str) -> None:
    assert setting_problems({name: value}) == [f"setting {name}={value}: {problem}"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIERCRAWL_HEARTBEAT_INTERVAL", "0"),  # off
        ("DOWNLOAD_TIMEOUT", " 2.5 "),
        ("RETRY_TIMES", 0),
        ("TIERCRAWL_GC_FREEZE", "False"),
        ("TIERCRAWL_GC_FREEZE", True),
        ("DOWNLOAD_MAXSIZE", None),  # not set
        ("TIERCRAWL_PROXY", ""),  # none
        ("TIERCRAWL_PROXY", "http://proxy.test:3128"),
        ("TIERCRAWL_PROXY", "https://user:p%40ss@proxy.test/"),
        ("TIERCRAWL_PROXY", "http://[::1]:8080"),
    ],
)
def test_good_values_pass(name: str, value: Any) -> None:
    assert setting_problems({name: value}) == []


def test_a_bad_proxy_is_named_without_its_password() -> None:
    problems = setting_problems({"TIERCRAWL_PROXY": "http://tier:s3cret@proxy.test:port"})
    assert problems == [f"setting TIERCRAWL_PROXY=http://***@proxy.test:port: {_PROXY_EXPECTED}"]
