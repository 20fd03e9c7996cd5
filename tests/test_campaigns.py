"""Finding a campaign file: read once while unchanged, read again when it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiercrawl.campaigns import resolve_campaign
from tiercrawl.exceptions import CampaignError

CAMPAIGN = """\
name: {name}
money_site: https://acme.example/
tier1:
  - url: https://blog.example.org/a
    target: https://acme.example/
"""


def test_an_unchanged_file_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN.format(name="first"), encoding="utf-8")
    first = resolve_campaign(str(path))
    assert resolve_campaign(str(path)) is first
    assert first.name == "first"


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN.format(name="first"), encoding="utf-8")
    assert resolve_campaign(str(path)).name == "first"
    path.write_text(CAMPAIGN.format(name="second-name"), encoding="utf-8")
    assert resolve_campaign(str(path)).name == "second-name"


def test_a_bad_file_fails_each_time(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN.format(name="bad name!"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(CampaignError):
            resolve_campaign(str(path))
