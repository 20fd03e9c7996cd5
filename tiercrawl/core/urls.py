"""URL normalisation, target matching and registered domains.

The matching rule is the contract's: scheme and host case-folded, default port
dropped, ``www.`` and a trailing slash ignored, fragment dropped, tracking
parameters (``utm_*``, ``gclid``, ``fbclid``, ...) dropped.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlparse, urlsplit, urlunparse, urlunsplit

import tldextract

__all__ = [
    "is_http_url",
    "match_key",
    "registered_domain",
    "resolve",
    "resolve_link",
    "same_target",
]

_TRACKING_PARAMS = frozenset({"gclid", "fbclid", "msclkid", "dclid", "yclid", "mc_cid", "mc_eid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_END = re.compile(r"[?#]")

# The bundled Public Suffix List snapshot: never fetch it over the network.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def resolve(href: str, base: str) -> str | None:
    """``href`` made absolute against ``base``; None when it is no http(s) link."""
    href = href.strip()
    try:
        url = urljoin(base, href)
    except ValueError:
        return None
    return url if is_http_url(url) else None


@lru_cache(maxsize=256)
def _base_of(base: str) -> tuple[str, str, str, str] | None:
    """What ``resolve_link``'s shortcuts need of ``base``: scheme, netloc, the
    prefix a ``#fragment`` link extends, and the registered domain. None when
    ``base`` is no plain http(s) URL with a host: then ``urljoin`` does it all.
    """
    try:
        scheme, netloc, path, params, query, _ = urlparse(base)
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not netloc or base != base.strip():
        return None
    # Every URL built on this netloc passes is_http_url, and has this domain.
    origin = f"{scheme}://{netloc}/"
    if not is_http_url(origin):
        return None
    prefix = urlunparse((scheme, netloc, path, params, query, ""))
    return scheme, netloc, prefix, registered_domain(origin)


def resolve_link(href: str, base: str) -> tuple[str, str] | None:
    """``(resolve(href, base), registered_domain(...))`` of a link, parsing its URL once.

    The same values as the two functions, cheaper: a page's links share one
    base, so ``base`` is parsed once and the common forms (``/path``,
    ``#fragment``, ``http(s)://host/...``) skip ``urljoin``.
    """
    href = href.strip()
    info = _base_of(base) if href else None
    if info is None or "\t" in href or "\n" in href or "\r" in href:
        return _resolve_link(href, base)
    bscheme, netloc, prefix, domain = info
    first = href[0]
    if first == "#":
        return (prefix + href if len(href) > 1 else prefix), domain
    if first == "/" and href[1:2] != "/":
        # urljoin keeps such a path as it is, unless it has dot segments or
        # ;params, and drops an empty query or fragment ("/a?", "/a#").
        path = _PATH_END.split(href, 1)[0]
        if "/." in path or ";" in path or href.endswith(("?", "#")) or "?#" in href:
            return _resolve_link(href, base)
        return f"{bscheme}://{netloc}{href}", domain
    if first in "hH":
        try:
            parts = urlsplit(href)
        except ValueError:
            return None
        scheme = parts.scheme
        if scheme in _DEFAULT_PORTS and parts.netloc and ";" not in parts.path:
            url = href if scheme != bscheme else urlunsplit(parts)
            hostname = parts.hostname
            if url == href and hostname:
                host = hostname.lower().rstrip(".")
                return url, _registered_domain_of_host(host) if host else ""
    return _resolve_link(href, base)


def _resolve_link(href: str, base: str) -> tuple[str, str] | None:
    """``resolve_link`` without shortcuts: ``urljoin``, then one ``urlsplit``."""
    try:
        url = urljoin(base, href)
    except ValueError:
        return None
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if stripped != url:
        return url, registered_domain(url)
    host = parts.hostname.lower().rstrip(".")
    return url, _registered_domain_of_host(host) if host else ""


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


@lru_cache(maxsize=65536)
def _registered_domain_of_host(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    domain = _extract(host).top_domain_under_public_suffix
    return domain or host


def registered_domain(url: str) -> str:
    """The registered domain of ``url``: ``blog.example.co.uk`` → ``example.co.uk``.

    An IP address, or a host with no public suffix (``localhost``), is its own
    registered domain.
    """
    host = _host_of(url)
    return _registered_domain_of_host(host) if host else ""


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


@lru_cache(maxsize=65536)
def match_key(url: str) -> str:
    """The form of ``url`` under which two URLs count as the same target.

    Not a URL to request: ``www.`` and the trailing slash are gone.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    )
    return urlunsplit((scheme, host, path, query, ""))


def same_target(a: str, b: str) -> bool:
    """Whether URLs ``a`` and ``b`` point at the same page under the contract's rule."""
    return match_key(a) == match_key(b)
