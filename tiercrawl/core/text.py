"""Crawled text made safe to keep and to print: control characters out.

A page's C0 and C1 control characters (ESC, BEL, CSI ...) show nothing in a
browser, but kept in an anchor or a title they would reach the user's
terminal as escape sequences: a hostile page could clear the screen, retitle
the window or print fake lines in ``tiercrawl diff``. The bidirectional
embedding, override and isolate controls (U+202A-202E, U+2066-2069) go too:
one in an anchor reversed the rest of its line in the HTML report, the
report's own words included.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "fold_case", "terminal_safe"]

# Every C0 control but HTML's whitespace (tab, line feed, form feed, carriage return),
# DEL and every C1 control: dropped, as a browser shows nothing of them, so that
# "best\x07tools" is "besttools" like "best\x07<i>tools</i>".
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = dict.fromkeys(
    code for code in (*range(0x20), *range(0x7F, 0xA0), *_BIDI) if chr(code) not in "\t\n\f\r"
)
# What a terminal must not receive raw: the same, but for tab, newline and carriage return.
_CONTROLS_ESCAPED = {
    code: f"\\u{code:04x}"
    for code in (*range(0x20), *range(0x7F, 0xA0), *_BIDI)
    if chr(code) not in "\t\n\r"
}


# `str.translate` maps a non-ASCII text character by character: 0.7 ms for the 19,000
# characters of a real page's body text, where this search takes 0.05 ms. An ASCII text
# it maps from a table, faster than the search.
_CONTROL_CHARS = re.compile("[" + "".join(re.escape(chr(code)) for code in _CONTROLS) + "]")


def fold(text: str | None) -> str:
    """``text`` without control characters, its whitespace runs folded to one space."""
    if not text:
        return ""
    if text.isascii() or _CONTROL_CHARS.search(text) is not None:
        text = text.translate(_CONTROLS)
    return " ".join(text.split())


def fold_case(text: str | None) -> str:
    """``text`` as two texts a reader sees alike compare: one Unicode form ("u" and a
    combining diaeresis is "ü"), no soft hyphen, whitespace runs folded, case-folded."""
    visible = unicodedata.normalize("NFC", (text or "").replace("\u00ad", ""))
    return " ".join(visible.split()).casefold()


def terminal_safe(text: str) -> str:
    """``text`` with every control character but tab and line ends written as ``\\uXXXX``
    (valid in JSON strings too), for output that may reach a terminal."""
    return text.translate(_CONTROLS_ESCAPED)
