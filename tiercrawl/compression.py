"""Scrapy's decompression, refusing a compressed body that stops short.

A gzip or deflate stream cut short (a server or proxy that failed mid-page,
with a length that matches what it sent) is decoded by Scrapy as far as it
goes, and the page looked read: a link in the lost part was ``missing``.
Here the response fails instead, with ``TruncatedBodyError``: the page's
``error`` is ``data_loss`` and its placements ``inconclusive``, as for a
plain body shorter than its ``Content-Length``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import (
    HttpCompressionMiddleware as ScrapyHttpCompressionMiddleware,
)
from scrapy.http import Response

from tiercrawl.core.compression import complete_stream

if TYPE_CHECKING:
    from scrapy import Request, Spider

__all__ = ["HttpCompressionMiddleware", "TruncatedBodyError"]


class TruncatedBodyError(Exception):
    """The response's compressed stream ends before its end-of-stream marker."""


class HttpCompressionMiddleware(ScrapyHttpCompressionMiddleware):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # Read first: Scrapy rewrites the header on the response it decodes.
        encodings = response.headers.getlist("Content-Encoding")
        body = response.body
        decoded = super().process_response(request, response)
        if decoded is response or len(encodings) != 1 or not isinstance(decoded, Response):
            return decoded
        encoding = encodings[0].decode("latin-1").strip().lower()
        if not complete_stream(encoding, body, len(decoded.body)):
            raise TruncatedBodyError(f"{encoding} stream cut short ({len(body)} bytes received)")
        return decoded
