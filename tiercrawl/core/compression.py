"""Whether a compressed response body holds its whole stream.

Scrapy decompresses leniently: a gzip or deflate stream cut short gives what
could be read, with no error, as browsers render a partial page. tiercrawl
must not take such a page for read: a link in the part that never arrived
would be ``missing``. A gzip stream ends with its length (modulo 2**32), so
a complete one is recognised from its last four bytes without decompressing
it again; only when they disagree (a stream of several gzip members) or for
deflate, which carries no length, is it decompressed a second time.
"""

from __future__ import annotations

import zlib

__all__ = ["complete_stream"]

_GZIP = 16 + zlib.MAX_WBITS
_GZIP_TRAILER = 8


def complete_stream(encoding: str, body: bytes, decoded_size: int) -> bool:
    """Whether ``body``, compressed with ``encoding``, is a whole stream that decodes to
    ``decoded_size`` bytes. Encodings other than gzip and deflate count as complete."""
    if encoding in ("gzip", "x-gzip"):
        if len(body) > _GZIP_TRAILER and int.from_bytes(body[-4:], "little") == decoded_size % (
            1 << 32
        ):
            return True
        return _gzip_members_end(body)
    if encoding == "deflate":
        return _deflate_ends(body)
    return True


def _gzip_members_end(body: bytes) -> bool:
    rest = body
    while rest:
        stream = zlib.decompressobj(_GZIP)
        try:
            stream.decompress(rest)
        except zlib.error:
            return False
        if not stream.eof:
            return False
        rest = stream.unused_data.lstrip(b"\0")  # padding after the last member
    return True


def _deflate_ends(body: bytes) -> bool:
    # zlib-wrapped, as the standard says, or raw deflate, as some servers send it.
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        stream = zlib.decompressobj(wbits)
        try:
            stream.decompress(body)
        except zlib.error:
            continue
        return stream.eof
    return False
