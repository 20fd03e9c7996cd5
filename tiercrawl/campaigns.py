"""Finding a campaign by path or by the name it was stored under."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tiercrawl.core.campaign import Campaign, campaign_from_dict, load_campaign
from tiercrawl.exceptions import CampaignError

if TYPE_CHECKING:
    from tiercrawl.store import Store

__all__ = ["is_campaign_file", "open_campaign", "resolve_campaign"]

_CAMPAIGN_SUFFIXES = (".yaml", ".yml", ".csv")
# The campaign file read last, by (path, modification time, size): `scrapy crawl`
# checks the file before the crawler exists, then the spider opens it again, and a
# campaign of 50,000 entries takes seconds to read and validate.
_last_read: tuple[tuple[Path, int, int], Campaign] | None = None


def is_campaign_file(ref: str) -> bool:
    """Whether ``ref`` names a campaign file (``.yaml``, ``.yml``, ``.csv``) rather than a
    stored campaign."""
    return Path(ref).suffix.lower() in _CAMPAIGN_SUFFIXES


def resolve_campaign(ref: str, store: Store | None = None) -> Campaign:
    """Load campaign ``ref``: a campaign file, or the name of a campaign stored in MongoDB.

    Scrapyd nodes cannot read the user's file, so they load pushed campaigns by name.
    A stored campaign's name may also name a file or directory where the command
    runs (``docs``, in the project's root): the stored campaign is meant.
    """
    if is_campaign_file(ref):
        return _read_file(ref)
    doc = store.campaigns.find_one({"name": ref}) if store is not None else None
    if doc is not None:
        return campaign_from_dict(doc["campaign"], source=f"stored campaign {ref}")
    if Path(ref).exists():
        return _read_file(ref)  # which says why it is no campaign file
    if store is None:
        raise CampaignError(f"{ref}: no such campaign file")
    raise CampaignError(
        f"{ref}: no such campaign file, and no campaign of that name is stored "
        "(push one with `tiercrawl campaign push FILE`)"
    )


def open_campaign(ref: str, open_store: Callable[[], Store]) -> tuple[Campaign, Store]:
    """Campaign ``ref`` and the opened store; a campaign file is checked before the store opens.

    So a campaign with problems is refused without waiting on a database first.
    """
    if is_campaign_file(ref):
        campaign = _read_file(ref)
        return campaign, open_store()
    store = open_store()
    try:
        return resolve_campaign(ref, store), store
    except Exception:
        store.close()
        raise


def _read_file(ref: str) -> Campaign:
    """``load_campaign(ref)``, or the campaign read from the same unchanged file before."""
    global _last_read
    path = Path(ref)
    try:
        stat = path.stat()
    except OSError:
        return load_campaign(ref)  # which says what is wrong with the path
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if _last_read is not None and _last_read[0] == key:
        return _last_read[1]
    campaign = load_campaign(ref)
    _last_read = (key, campaign)
    return campaign
