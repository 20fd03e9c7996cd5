from __future__ import annotations

from tiercrawl.core.text import fold, terminal_safe


def test_fold_drops_controls_and_bidirectional_overrides() -> None:
    assert fold("best\x07tools \u202eevil\u202c  \u2066x\u2069\n") == "besttools evil x"
    assert fold(None) == ""


def test_terminal_safe_escapes_what_a_terminal_would_act_on() -> None:
    text = "a\x1b[2Jb\u202ec\td\ne"
    assert terminal_safe(text) == "a\\u001b[2Jb\\u202ec\td\ne"
