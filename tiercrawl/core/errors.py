"""Download failures mapped to the short ``error`` strings of ``pages`` documents.

The vocabulary (contract §3, ``pages.error``):

``timeout``
    the server did not answer in time (``DOWNLOAD_TIMEOUT``, a TCP or Playwright timeout)
``dns``
    the host name does not resolve
``connection``
    refused, reset or dropped before a complete response arrived
``tls``
    the TLS handshake or certificate check failed
``robots``
    robots.txt forbids the page, so it was never requested
``redirect_loop``
    too many redirects (``REDIRECT_MAX_TIMES``) or a redirect cycle
``bad_redirect``
    a 3xx response that cannot be followed (no ``Location``); the spider sets
    it, with the response's status, as Scrapy reports it as a bad status
``too_large``
    the body exceeds ``DOWNLOAD_MAXSIZE``; Scrapy cancels the download
    (``DownloadCancelledError``), and cancelling for size is the only cancel it does itself
``data_loss``
    the response ended before its announced length, or its compressed stream
    before its end
``unsupported_scheme``
    no download handler for the URL's scheme
``crash``
    the browser's renderer crashed (a render failure only, in ``render_reason``)
``download_error``
    anything else

``not_html`` is not a download failure: the spider sets it from the response's
content type, and ``empty`` for a 2xx answer with a blank body; nor is ``store_refused``: the sink sets it on a page whose
document the store would not take (over MongoDB's 16 MB), stored without its
bulky fields. This module is pure so that it can be tested without a reactor:
the caller passes the names of the exception's classes along its MRO (most
specific first) and its message.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["error_reason"]

_BY_CLASS_NAME: dict[str, str] = {
    # Scrapy 2.15+ wraps the handler's own exceptions in these.
    "DownloadTimeoutError": "timeout",
    "CannotResolveHostError": "dns",
    "DownloadConnectionRefusedError": "connection",
    "DownloadFailedError": "connection",
    "DownloadCancelledError": "too_large",
    "ResponseDataLossError": "data_loss",
    "UnsupportedURLSchemeError": "unsupported_scheme",
    # Twisted, and Python's own OSError family.
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "UserTimeoutError": "timeout",
    "DNSLookupError": "dns",
    "gaierror": "dns",
    "ConnectionRefusedError": "connection",
    "ConnectionResetError": "connection",
    "ConnectionError": "connection",
    "ConnectError": "connection",
    "ConnectionLost": "connection",
    "ConnectionDone": "connection",
    "ConnectionAborted": "connection",
    "ResponseNeverReceived": "connection",
    "ResponseFailed": "connection",
    "RequestNotSent": "connection",
    "RequestTransmissionFailed": "connection",
    "PotentialDataLoss": "data_loss",
    "TruncatedBodyError": "data_loss",  # tiercrawl.compression: a compressed stream cut short
    "RenderCrashError": "crash",  # tiercrawl.rendering: the browser's renderer crashed
    "SchemeNotSupported": "unsupported_scheme",
}

# Checked in order, on the lower-cased message, when the class names say
# nothing (IgnoreRequest, Playwright's generic Error).
_BY_MESSAGE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("robots", ("forbidden by robots.txt",)),
    (
        "redirect_loop",
        ("max redirections", "redirect loop", "too many redirects", "too_many_redirects"),
    ),
    ("timeout", ("timed out", "timeout", "err_timed_out")),
    ("too_large", ("download_maxsize", "maxsize", "max size", "exceeded")),
    (
        "tls",
        (
            "ssl routines",
            "openssl.ssl.error",
            "certificate verify failed",
            "err_cert_",
            "err_ssl_",
        ),
    ),
    ("dns", ("err_name_not_resolved", "dns lookup failed", "name or service not known")),
    (
        "connection",
        ("err_connection_", "err_empty_response", "connection refused", "connection lost"),
    ),
    ("crash", ("page crashed", "target crashed")),
)

_TLS_MESSAGES = dict(_BY_MESSAGE)["tls"]


def _reason_from_names(names: Sequence[str]) -> str | None:
    for name in names:
        if name in _BY_CLASS_NAME:
            return _BY_CLASS_NAME[name]
        if "SSL" in name:
            return "tls"
    return None


def _reason_from_message(message: str) -> str | None:
    text = message.lower()
    for reason, markers in _BY_MESSAGE:
        if any(marker in text for marker in markers):
            return reason
    return None


def error_reason(exc_class_names: Sequence[str], message: str = "") -> str:
    """The contract's ``error`` string for a failed download.

    The most specific known class wins, so ``TCPTimedOutError`` (a Twisted
    ``ConnectError``) is a ``timeout``. A generic connection failure whose
    message shows a failed TLS handshake is ``tls``: Twisted reports those as
    ``ResponseNeverReceived``/``ResponseFailed`` around an OpenSSL error.
    """
    by_name = _reason_from_names(exc_class_names)
    if by_name == "connection" and any(m in message.lower() for m in _TLS_MESSAGES):
        return "tls"
    if by_name is not None:
        return by_name
    return _reason_from_message(message) or "download_error"
