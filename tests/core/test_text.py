from __future__ import annotations

import pytest

from tiercrawl.core.text import fold, terminal_safe


def test_fold_drops_controls_and_bidirectional_overrides() -> None:
    assert fold("best\x07tools \u202eevil\u202c  \u2066x\u2069\n") == "besttools evil x"
    assert fold(None) == ""


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("plain  ASCII\t text\n", "plain ASCII text"),
        ("ASCII\x1f with\x7f controls", "ASCII with controls"),
        ("Gr\u00fc\u00dfe  aus\u00a0K\u00f6ln", "Gr\u00fc\u00dfe aus K\u00f6ln"),
        # NEL (U+0085) is whitespace to str.split, a control to a browser: dropped, not a space.
        ("Gr\u00fc\u00dfe\x85aus K\u00f6ln", "Gr\u00fc\u00dfeaus K\u00f6ln"),
        ("\u202eK\u00f6ln", "K\u00f6ln"),
    ],
)
def test_fold_ascii_and_other_texts_alike(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_terminal_safe_escapes_what_a_terminal_would_act_on() -> None:
    text = "a\x1b[2Jb\u202ec\td\ne"
    assert terminal_safe(text) == "a\\u001b[2Jb\\u202ec\td\ne"
