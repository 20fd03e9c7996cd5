from __future__ import annotations

import gzip
import zlib

import pytest

from tiercrawl.core.compression import complete_stream

PAGE = b"<p>" + b"Cordless drills compared. " * 2000 + b"</p>"


def _deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(PAGE)),
        ("x-gzip", gzip.compress(PAGE)),
        ("deflate", zlib.compress(PAGE)),
        ("deflate", _deflate(PAGE, -zlib.MAX_WBITS)),  # raw deflate, as some servers send it
    ],
)
def test_a_whole_stream_is_complete_and_a_cut_one_is_not(encoding: str, body: bytes) -> None:
    assert complete_stream(encoding, body, len(PAGE))
    assert not complete_stream(encoding, body[: len(body) // 2], len(PAGE) // 3)


def test_several_gzip_members_are_one_stream() -> None:
    # The last member's length is not the whole body's: the members are read to be sure.
    body = gzip.compress(PAGE) + gzip.compress(b"<p>More.</p>") + b"\0\0"
    assert complete_stream("gzip", body, len(PAGE) + 12)
    assert not complete_stream("gzip", body[:-20], len(PAGE) + 5)


def test_other_encodings_are_taken_as_they_are() -> None:
    assert complete_stream("br", b"\x1b\x03", 4)
