from __future__ import annotations

import ssl

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from twisted.internet import error as tx_error
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from tiercrawl.core.errors import error_reason


def _names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (DownloadTimeoutError("Getting x took longer than 3 seconds."), "timeout"),
        (tx_error.TimeoutError(), "timeout"),
        (tx_error.TCPTimedOutError(), "timeout"),
        (TimeoutError(), "timeout"),
        (PlaywrightTimeoutError("page.goto: Timeout 30000ms exceeded."), "timeout"),
        (CannotResolveHostError("x"), "dns"),
        (tx_error.DNSLookupError(), "dns"),
        (DownloadConnectionRefusedError(), "connection"),
        (tx_error.ConnectionRefusedError(), "connection"),
        (ConnectionRefusedError(), "connection"),
        (ConnectionResetError(), "connection"),
        (tx_error.ConnectError(), "connection"),
        (tx_error.ConnectionLost(), "connection"),
        (tx_error.ConnectionDone(), "connection"),
        (ResponseNeverReceived([]), "connection"),
        (ResponseFailed([]), "connection"),
        (DownloadFailedError("boom"), "connection"),
        (IgnoreRequest("Forbidden by robots.txt"), "robots"),
        (IgnoreRequest("max redirections reached"), "redirect_loop"),
        (
            DownloadCancelledError("Received 9 bytes which is larger than download max size (5)"),
            "too_large",
        ),
        (ResponseDataLossError("x"), "data_loss"),
        (ssl.SSLError(), "tls"),
        (ssl.SSLCertVerificationError(), "tls"),
        (UnsupportedURLSchemeError("ftp"), "unsupported_scheme"),
        (IgnoreRequest("offsite"), "download_error"),
        (ValueError("anything"), "download_error"),
    ],
)
def test_real_exceptions(exc: BaseException, expected: str) -> None:
    assert error_reason(_names(exc), str(exc)) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("net::ERR_NAME_NOT_RESOLVED at https://x.example/", "dns"),
        ("net::ERR_CONNECTION_REFUSED at https://x.example/", "connection"),
        ("net::ERR_CONNECTION_RESET", "connection"),
        ("net::ERR_TIMED_OUT", "timeout"),
        ("net::ERR_CERT_AUTHORITY_INVALID", "tls"),
        ("net::ERR_TOO_MANY_REDIRECTS", "redirect_loop"),
        ("Response size exceeded", "too_large"),
        ("DOWNLOAD_MAXSIZE reached", "too_large"),
        ("something odd", "download_error"),
    ],
)
def test_playwright_messages(message: str, expected: str) -> None:
    assert error_reason(_names(PlaywrightError(message)), message) == expected


def test_tls_failure_inside_a_connection_failure() -> None:
    message = "[<twisted.python.failure.Failure OpenSSL.SSL.Error: [('SSL routines', '', 'certificate verify failed')]>]"
    assert error_reason(["ResponseNeverReceived", "Exception"], message) == "tls"


def test_most_specific_class_wins() -> None:
    # TCPTimedOutError is a ConnectError: the timeout must not read as a connection failure.
    assert error_reason(["TCPTimedOutError", "ConnectError", "Exception"]) == "timeout"


def test_redirect_loop_wording() -> None:
    assert error_reason(["IgnoreRequest"], "redirect loop detected") == "redirect_loop"


def test_names_only() -> None:
    assert error_reason(["UserTimeoutError", "TimeoutError", "Exception"]) == "timeout"
    assert error_reason(["SSLZeroReturnError", "SSLError", "OSError"]) == "tls"


def test_no_names_no_message() -> None:
    assert error_reason([]) == "download_error"
