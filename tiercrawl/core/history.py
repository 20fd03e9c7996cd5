"""A placement's verdicts over a campaign's runs: since when it holds, how often it was found.

Vendors guarantee a link for months, and a link lost between two checks is
claimed back with its dates: `PlacementHistory` answers "live since when",
"lost when" and "found in how many of the checks that could read the page".

A run that could not read the page (``inconclusive``: 403, 429, 5xx, a
timeout) proves nothing either way: it neither ends nor starts a streak, and
it is left out of the runs that read the page. A run in which the campaign
had no such entry does end one: nothing was checked then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tiercrawl.core.campaign import DEAL_FIELDS
from tiercrawl.core.matching import ABSENT_STATUSES, FOUND_STATUSES, INCONCLUSIVE
from tiercrawl.core.urls import match_key

__all__ = [
    "MARKS",
    "CampaignHistory",
    "HistoryRun",
    "PlacementHistory",
    "history_key",
    "placement_histories",
]

# One character a run in a timeline; "." for a run without the entry, "x" for a verdict not named here.
MARKS = {
    "live": "L",
    "nofollow": "N",
    "not_indexable": "I",
    "missing": "M",
    "page_error": "E",
    "inconclusive": "?",
}
_ABSENT_MARK = "."
_OTHER_MARK = "x"


# (tier, url, target)
Key = tuple[int, str, str]


def history_key(tier: int, url: str, target: str) -> Key:
    """What identifies a placement across runs: an entry rewritten in another URL form
    (``www.``, a slash, tracking parameters) is still the same placement."""
    return (int(tier), match_key(url), match_key(target))


def placement_histories(statuses: Mapping[Key, Sequence[str | None]]) -> list[PlacementHistory]:
    """The histories of the newest run's placements, in key order.

    ``statuses`` holds, by ``(tier, url, target)`` as runs wrote them, a status a
    run (None: no such entry then). An entry the newest run writes in another URL
    form than the runs before (`history_key`) keeps their statuses, under its new
    form. Only such entries cost a URL comparison: none, while a campaign is unchanged.
    """
    current = {key: list(seen) for key, seen in statuses.items() if seen and seen[-1] is not None}
    earlier = [key for key in statuses if key not in current]
    if earlier:
        new = {
            history_key(*key): key
            for key, seen in current.items()
            if all(status is None for status in seen[:-1])
        }
        for key in earlier:
            rewritten = new.get(history_key(*key))
            if rewritten is not None:
                current[rewritten] = [
                    a if a is not None else b for a, b in zip(current[rewritten], statuses[key])
                ]
    return sorted(PlacementHistory(*key, statuses=tuple(seen)) for key, seen in current.items())


@dataclass(frozen=True)
class HistoryRun:
    """A full run of the campaign, and the recheck runs overlaid on it (oldest first)."""

    run_id: str
    started_at: datetime
    rechecks: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "rechecks": list(self.rechecks),
        }


@dataclass(frozen=True, order=True)
class PlacementHistory:
    """One placement's statuses in a campaign's runs, oldest first (None: not an entry then).

    ``url`` and ``target`` are as the newest run wrote them.
    """

    tier: int
    url: str
    target: str
    statuses: tuple[str | None, ...]

    @property
    def status(self) -> str | None:
        """The newest run's status."""
        return self.statuses[-1] if self.statuses else None

    @property
    def verdict(self) -> str | None:
        """The newest status of a run that read the page (None: no run ever read it)."""
        index = self._last_read()
        return None if index is None else self.statuses[index]

    @property
    def since(self) -> int | None:
        """The index of the run from which `verdict` holds, unread runs passed over."""
        index = self._last_read()
        if index is None:
            return None
        verdict = self.statuses[index]
        start = index
        for earlier in range(index - 1, -1, -1):
            status = self.statuses[earlier]
            if status == INCONCLUSIVE:
                continue
            if status != verdict:
                break
            start = earlier
        return start

    def since_or_earlier(self, runs_before: int) -> bool:
        """Whether `verdict` may hold from before the runs read, ``runs_before`` of which
        came first: it holds from their first on, but for runs that could not read the page."""
        since = self.since
        if since is None or runs_before == 0:
            return False
        return all(status == INCONCLUSIVE for status in self.statuses[:since])

    @property
    def read_runs(self) -> int:
        """How many runs read the page (an entry of the campaign, not ``inconclusive``)."""
        return sum(1 for s in self.statuses if s is not None and s != INCONCLUSIVE)

    @property
    def found_runs(self) -> int:
        """How many runs found the link (`FOUND_STATUSES`)."""
        return sum(1 for s in self.statuses if s in FOUND_STATUSES)

    @property
    def first_found(self) -> int | None:
        """The index of the first run that found the link."""
        return next((i for i, s in enumerate(self.statuses) if s in FOUND_STATUSES), None)

    @property
    def last_found(self) -> int | None:
        """The index of the last run that found the link."""
        found = [i for i, s in enumerate(self.statuses) if s in FOUND_STATUSES]
        return found[-1] if found else None

    @property
    def lost(self) -> bool:
        """Whether the link was found by an earlier run and the newest run that read the
        page found it absent, or the page gone: a link to have restored."""
        return self.verdict in ABSENT_STATUSES and self.last_found is not None

    @property
    def timeline(self) -> str:
        """One `MARKS` character a run, oldest first."""
        return "".join(
            _ABSENT_MARK if s is None else MARKS.get(s, _OTHER_MARK) for s in self.statuses
        )

    def to_dict(self, runs: Sequence[HistoryRun], runs_before: int = 0) -> dict[str, Any]:
        """The placement's history, its run indexes named by ``runs`` (oldest first).

        ``runs_before``: how many full runs came before ``runs``. A verdict that holds
        from the first of ``runs`` on may then hold from earlier: ``since_or_earlier``.
        """

        def run_id(index: int | None) -> str | None:
            return None if index is None else runs[index].run_id

        def started(index: int | None) -> str | None:
            return None if index is None else runs[index].started_at.isoformat()

        # Each derived once: every one of them walks the statuses.
        since, last_found = self.since, self.last_found
        return {
            "tier": self.tier,
            "url": self.url,
            "target": self.target,
            "status": self.status,
            "verdict": self.verdict,
            "since": started(since),
            "since_run": run_id(since),
            "since_or_earlier": self.since_or_earlier(runs_before),
            "last_found": started(last_found),
            "first_found_run": run_id(self.first_found),
            "last_found_run": run_id(last_found),
            "found_runs": self.found_runs,
            "read_runs": self.read_runs,
            "lost": self.lost,
            "timeline": self.timeline,
            "statuses": list(self.statuses),
        }

    def _last_read(self) -> int | None:
        return next(
            (
                i
                for i in range(len(self.statuses) - 1, -1, -1)
                if self.statuses[i] is not None and self.statuses[i] != INCONCLUSIVE
            ),
            None,
        )


@dataclass(frozen=True)
class CampaignHistory:
    """The placements of a campaign's newest run, each with its statuses in ``runs``;
    ``runs_before`` full runs came before those, not read. ``deals``: what the newest
    run's campaign records of the deal behind each placement (`spec_deals`)."""

    campaign: str
    runs: tuple[HistoryRun, ...]
    placements: tuple[PlacementHistory, ...]
    runs_before: int = 0
    deals: Mapping[Key, Mapping[str, Any]] = field(default_factory=dict)

    def placement_dict(self, placement: PlacementHistory) -> dict[str, Any]:
        deal = self.deals.get((placement.tier, placement.url, placement.target), {})
        return {
            **placement.to_dict(self.runs, self.runs_before),
            **{name: deal.get(name) for name in DEAL_FIELDS},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "runs": [run.to_dict() for run in self.runs],
            "runs_before": self.runs_before,
            "placements": [self.placement_dict(placement) for placement in self.placements],
        }
