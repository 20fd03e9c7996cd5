"""URL normalisation, target matching and registered domains.

The matching rule is the contract's: scheme and host case-folded, default port
dropped, ``www.`` and a trailing slash ignored, fragment dropped, tracking
parameters (``utm_*``, ``gclid``, ``fbclid``, ...) dropped. An internationalised
host is the same host in Unicode and in punycode (``xn--``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from contextlib import suppress
from functools import lru_cache
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    unquote_to_bytes,
    urlencode,
    urljoin,
    urlparse,
    urlsplit,
    urlunparse,
    urlunsplit,
)

import tldextract

__all__ = [
    "has_public_suffix",
    "hide_credentials",
    "http_url_problem",
    "is_http_url",
    "match_domain",
    "match_key",
    "registered_domain",
    "resolve",
    "resolve_link",
    "same_target",
    "site_domain",
]

_TRACKING_PARAMS = frozenset({"gclid", "fbclid", "msclkid", "dclid", "yclid", "mc_cid", "mc_eid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_END = re.compile(r"[?#]")

# The bundled Public Suffix List snapshot: never fetch it over the network. With
# its private section: each blog on blogspot.com or github.io is a site of its own.
_extract = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


def _http_parts(url: str) -> SplitResult | None:
    """``url`` split, if it is an absolute http(s) URL with a host; None otherwise."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unbalanced or invalid [IPv6] literal
        return None
    return parts if parts.scheme.lower() in _DEFAULT_PORTS and parts.hostname else None


# Whitespace and control characters: urlsplit silently drops tabs and newlines,
# so what is requested would differ from what is written; no URL holds the
# others unescaped.
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _is_host_char(char: str) -> bool:
    if char.isascii():
        # "_" is no hostname letter, yet DNS and browsers take it in subdomains.
        return char.isalnum() or char in "-_"
    return unicodedata.category(char)[0] in "LMN"  # an IDN's letters, marks and digits


# An ASCII host name, as `_is_host_char` and IDNA take it: labels of 1 to 63 letters,
# digits, "-" and "_", maybe a final dot. One match instead of a test per character:
# a campaign's URLs are checked one by one (a third of the time to load 40,000 entries).
_ASCII_HOST_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?")


def _is_host_name(name: str) -> bool:
    """A domain name (in ASCII or Unicode, maybe with a final dot) or an IPv4 address."""
    labels = name.removesuffix(".").split(".")
    if _ASCII_HOST_NAME.fullmatch(name) is None and not _is_unicode_host_name(name, labels):
        return False
    if labels[-1].isascii() and labels[-1].isdigit():  # no top-level domain is a number
        try:
            ipaddress.IPv4Address(".".join(labels))
        except ValueError:
            return False
    return True


def _is_unicode_host_name(name: str, labels: list[str]) -> bool:
    if name.isascii():
        return False  # the ASCII ones are all `_ASCII_HOST_NAME`
    if not all(label and all(map(_is_host_char, label)) for label in labels):
        return False
    try:
        name.encode("idna")  # as Scrapy sends it: labels of 1 to 63 characters, once encoded
    except UnicodeError:
        return False
    return True


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# Cached: a campaign names each target and each tier-1 page (as a tier-2 target) many times.
@lru_cache(maxsize=65536)
def http_url_problem(url: str) -> str | None:
    """Why ``url`` is no http(s) URL that can be requested as written; None if it is one.

    Such a URL is absolute, with a host that is a domain name (letters, digits,
    ``-``, ``_``, internationalised letters), an IPv4 address or a bracketed IPv6
    address, a port from 1 to 65535 if any, and no whitespace or control character
    (surrounding whitespace aside). The reason reads after the URL:
    ``'ftp://x/' is not an http(s) URL``.
    """
    url = url.strip()
    parts = _http_parts(url)
    if parts is None:
        return "not an http(s) URL"
    if _BLANK_OR_CONTROL.search(url):
        return "not a valid http(s) URL: it contains whitespace or a control character"
    host_port = parts.netloc.rpartition("@")[2]
    if host_port.startswith("["):
        ipv6, _, after = host_port[1:].partition("]")
        host, port = f"[{ipv6}]", after.removeprefix(":")
        valid_host = _is_ipv6(ipv6) and after[:1] in ("", ":")
    else:
        host, _, port = host_port.partition(":")
        valid_host = _is_host_name(host)
    if port and not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
        return f"not a valid http(s) URL: the port {port!r} is not a number from 1 to 65535"
    if not valid_host:
        return f"not a valid http(s) URL: the host {host!r} is not valid"
    return None


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an http(s) URL that can be requested as written (see `http_url_problem`)."""
    return http_url_problem(url) is None


# Query options of a MongoDB URI whose value is a secret.
_SECRET_OPTION = re.compile(
    r"([?&](?:tlsCertificateKeyFilePassword|sslPEMKeyPassword|password)=)[^&]*", re.IGNORECASE
)


def hide_credentials(url: str) -> str:
    """``url`` with its credentials shown as ``***``, and the values of secret query options.

    The credentials end at the last "@" before the first "/", else before the
    first "?": a password with an unescaped "@", "/" or "?" must not show in
    part, and an "@" in the query (``?email=ops@acme.example``) is no password.
    """
    scheme, sep, rest = url.partition("://")
    for end in ("/", "?"):
        userinfo, at, _ = rest.partition(end)[0].rpartition("@")
        if at:
            rest = "***@" + rest[len(userinfo) + 1 :]
            break
    return scheme + sep + _SECRET_OPTION.sub(r"\1***", rest)


def resolve(href: str, base: str) -> str | None:
    """``href`` made absolute against ``base``; None when it is no http(s) link.

    A link is kept as the page wrote it, even one that `is_http_url` refuses to
    request (a space in its path, a bad port): it is a fact about the page.
    """
    try:
        url = _join(base, href.strip())
    except ValueError:
        return None
    return url if _http_parts(url) is not None else None


def _has_dot_segments(path: str) -> bool:
    """Whether ``path`` (up to a "?" or "#", which ends it) may hold "." or ".." segments."""
    return "/." in path and "/." in _PATH_END.split(path, 1)[0]


def _join(base: str, href: str) -> str:
    """``urljoin``, with the dot segments of an absolute ``href`` applied too, as browsers
    do: ``https://a.example/blog/../drills/`` is ``https://a.example/drills/``."""
    url = urljoin(base, href)
    if not _has_dot_segments(url.partition("://")[2]):
        return url
    scheme, netloc, path, query, fragment = urlsplit(url)
    return urlunsplit((scheme, netloc, _without_dot_segments(path), query, fragment))


@lru_cache(maxsize=256)
def _base_of(base: str) -> tuple[str, str, str, str] | None:
    """What ``resolve_link``'s shortcuts need of ``base``: its origin
    (``scheme://netloc``), the directory a relative path goes under, the prefix
    a ``#fragment`` extends, and the registered domain. None when ``base`` is no
    plain http(s) URL with a host: then ``urljoin`` does it all.
    """
    try:
        scheme, netloc, path, params, query, _ = urlparse(base)
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not netloc or base != base.strip() or "/." in path:
        return None  # a path with dot segments: `_join` applies them
    # Every URL built on this netloc passes resolve's check, and has this domain.
    origin = f"{scheme}://{netloc}"
    if _http_parts(origin + "/") is None:
        return None
    # urljoin merges a relative path with the base's directory, dropping empty
    # and dot segments of both; a base path with none keeps its directory as is.
    if not path:
        directory = origin + "/"
    elif path.startswith("/") and "//" not in path and "/." not in path:
        directory = origin + path[: path.rfind("/") + 1]
    else:
        directory = ""
    prefix = urlunparse((scheme, netloc, path, params, query, ""))
    return origin, directory, prefix, registered_domain(origin + "/")


# An absolute http(s) URL whose netloc is a plain host (and port): urljoin
# returns it as it is, unless it has ;params or an empty query or fragment.
_PLAIN_ABSOLUTE = re.compile(r"https?://([A-Za-z0-9._-]+)(?::[0-9]*)?(?=[/?#]|\Z)")


def resolve_link(href: str, base: str) -> tuple[str, str] | None:
    """``(resolve(href, base), registered_domain(...))`` of a link, parsing its URL once.

    The same values as the two functions, cheaper: a page's links share one
    base, which is parsed once, and the common forms of ``href`` (an absolute
    URL, ``/path``, ``path``, ``#fragment``) are resolved without ``urljoin``.
    """
    href = href.strip()
    info = _base_of(base)
    if info is None:
        return _resolve_link(href, base)
    if not href:
        return base, info[3]
    if href == "#":
        return info[2], info[3]
    if (
        "\t" in href
        or "\n" in href
        or "\r" in href
        or ";" in href
        or "?#" in href
        or href.endswith(("?", "#"))
    ):
        return _resolve_link(href, base)  # urlsplit drops these or splits ;params off
    origin, directory, prefix, domain = info
    first = href[0]
    if first == "#":
        return prefix + href, domain
    if first == "/":
        if href[1:2] == "/" or _has_dot_segments(href):
            return _resolve_link(href, base)
        return origin + href, domain
    if first == "h":
        found = _PLAIN_ABSOLUTE.match(href)
        if found is not None and not _has_dot_segments(href):
            host = found.group(1).lower().rstrip(".")
            return href, _registered_domain_of_host(host) if host else ""
    if first > " " and first != "?" and directory:
        path = _PATH_END.split(href, 1)[0]
        if ":" not in path:
            segments = path.split("/")
            if "." not in segments and ".." not in segments and "" not in segments[:-1]:
                return directory + href, domain
    return _resolve_link(href, base)


def _resolve_link(href: str, base: str) -> tuple[str, str] | None:
    """``resolve_link`` without shortcuts: ``urljoin``, then one ``urlsplit``."""
    try:
        url = _join(base, href)
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


def _unicode_host(host: str) -> str:
    """``host`` with its punycode labels (``xn--...``) decoded: an IDN's two spellings are one host."""
    if "xn--" not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with suppress(UnicodeError):  # not punycode after all: kept as written
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=65536)
def _registered_domain_of_host(host: str) -> str:
    host = _unicode_host(host)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    domain = _extract(host).top_domain_under_public_suffix
    return domain or host


def has_public_suffix(host: str) -> bool:
    """Whether ``host`` ends in a suffix of the Public Suffix List (``co.uk``, ``de``)."""
    return bool(_extract(_unicode_host(host.rstrip("."))).suffix)


def registered_domain(url: str) -> str:
    """The registered domain of ``url``: ``blog.example.co.uk`` → ``example.co.uk``.

    An IP address, or a host with no public suffix (``localhost``), is its own
    registered domain. Suffixes of the list's private section count: a blog
    on ``alice.blogspot.com`` is its own site. An internationalised domain is
    given in Unicode, also when the URL spells it in punycode
    (``xn--bcher-kva.de`` → ``bücher.de``).
    """
    host = _host_of(url)
    return _registered_domain_of_host(host) if host else ""


def match_domain(domain: str) -> str:
    """The form of a registered ``domain`` under which two links' sites count as the same.

    ``www.`` is ignored, as by `match_key`: a host with no public suffix
    (``www.acme.test``) is its own registered domain, with the ``www.``.
    """
    return domain.removeprefix("www.")


def site_domain(url: str) -> str:
    """The registered domain of ``url`` in `match_domain` form: the site it belongs to."""
    return match_domain(registered_domain(url))


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


# What a path segment keeps unescaped in `match_key`: RFC 3986's sub-delims, ":" and
# "@" (letters, digits and "-._~" never are escaped); anything else is one %XX per byte.
_SEGMENT_SAFE = "!$&'()*+,;=:@~"
# A path of those and unreserved characters only, no escape: already in that form.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def _without_dot_segments(path: str) -> str:
    """``path`` with its ``.`` and ``..`` segments applied (RFC 3986, 5.2.4)."""
    if "." not in path:
        return path
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(kept) > 1:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if path.endswith(("/.", "/..")):
        kept.append("")
    return "/".join(kept)


@lru_cache(maxsize=65536)
def match_key(url: str) -> str:
    """The form of ``url`` under which two URLs count as the same target.

    Not a URL to request: ``www.`` and the trailing slash are gone, the path
    has one percent-encoding (``/bohrer-%c3%bc``, ``/bohrer-%C3%BC`` and
    ``/bohrer-ü`` are one path, as a server reads them) and no dot segments.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = _unicode_host((parts.hostname or "").lower().rstrip(".")).removeprefix("www.")
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = parts.path
    if not _PLAIN_PATH.fullmatch(path):
        # Segment by segment: an escaped "/" (%2F) is part of a segment, not a separator.
        segments = (quote(unquote_to_bytes(seg), safe=_SEGMENT_SAFE) for seg in path.split("/"))
        path = "/".join(segments)
    path = _without_dot_segments(path).rstrip("/")
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    )
    return urlunsplit((scheme, host, path, query, ""))


def same_target(a: str, b: str) -> bool:
    """Whether URLs ``a`` and ``b`` point at the same page under the contract's rule."""
    return match_key(a) == match_key(b)
