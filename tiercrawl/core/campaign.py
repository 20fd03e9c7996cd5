"""Campaign files (YAML or CSV) loaded into a validated :class:`Campaign`.

Nothing is crawled from an invalid campaign: every problem is collected, each
with its file line (YAML node marks, CSV row numbers) or its entry
(``tier1[2]``), and raised together as one :class:`CampaignError`. The format
and the list of problems are documented in ``docs/campaigns.md``.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml

from tiercrawl.core.urls import (
    http_url_problem,
    is_http_url,
    match_key,
    site_domain,
)
from tiercrawl.exceptions import CampaignError

__all__ = [
    "DEAL_FIELDS",
    "NAME_PATTERN",
    "Campaign",
    "Entry",
    "campaign_from_dict",
    "load_campaign",
    "spec_deals",
]

# A campaign name is used in run ids, file names and database queries.
NAME_PATTERN = re.compile(r"[a-z0-9._-]{1,64}")
_TOP_KEYS = ("name", "money_site", "brand", "keywords", "tier1", "tier2")
_REQUIRED_TOP_KEYS = ("name", "money_site", "tier1")
# What an entry may record of the deal behind it (`Entry`).
DEAL_FIELDS = ("vendor", "guaranteed_until", "price")
# An entry's keys: the placement, then what the deal promised (optional).
_OPTIONAL_ENTRY_KEYS = ("anchor", *DEAL_FIELDS)
_ENTRY_KEYS = ("url", "target", *_OPTIONAL_ENTRY_KEYS)
_CSV_COLUMNS = ("tier", "url", "target", *_OPTIONAL_ENTRY_KEYS)
_CSV_HEADER = "tier,url,target,anchor (vendor, guaranteed_until and price may follow)"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A price as written in a CSV cell or a quoted YAML value: digits, maybe a decimal point.
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CSV_REQUIRED_COLUMNS = ("tier", "url", "target")


@dataclass(frozen=True)
class Entry:
    """One placement: page ``url`` (of ``tier``) should link to ``target``.

    ``vendor`` (who placed the link), ``guaranteed_until`` (an ISO date: how
    long the vendor promised it stays live) and ``price`` (what it cost, in the
    user's currency) are the user's records of the deal.
    """

    tier: int
    url: str
    target: str
    anchor: str | None = None
    vendor: str | None = None
    guaranteed_until: str | None = None
    price: float | None = None

    @property
    def deal(self) -> dict[str, Any]:
        """The `DEAL_FIELDS`, None where the campaign records nothing."""
        return {name: getattr(self, name) for name in DEAL_FIELDS}


@dataclass(frozen=True)
class Campaign:
    """A validated campaign: tier-1 pages link to the money site, tier-2 pages to tier-1 pages."""

    name: str
    money_site: str
    brand: tuple[str, ...]
    keywords: tuple[str, ...]
    tier1: tuple[Entry, ...]
    tier2: tuple[Entry, ...]

    def entries(self) -> tuple[Entry, ...]:
        """Every placement to verify, tier 1 first."""
        return self.tier1 + self.tier2

    def pages(self) -> list[tuple[str, int]]:
        """Every URL to crawl exactly once, with its tier, in document order.

        Tier-1 urls, then tier-2 urls, then the tier-1 targets (tier 0, crawled
        for relevance and to learn their redirects). A URL listed under several
        tiers keeps the lowest non-zero one.
        """
        tiers: dict[str, int] = {}
        for entry in self.entries():
            tiers.setdefault(entry.url, entry.tier)
        for entry in self.tier1:
            tiers.setdefault(entry.target, 0)
        return list(tiers.items())

    def to_dict(self) -> dict[str, Any]:
        """The campaign in its YAML shape, to store it and load it back with `campaign_from_dict`."""
        return {
            "name": self.name,
            "money_site": self.money_site,
            "brand": list(self.brand),
            "keywords": list(self.keywords),
            "tier1": [_entry_dict(entry) for entry in self.tier1],
            "tier2": [_entry_dict(entry) for entry in self.tier2],
        }


def spec_deals(spec: Mapping[str, Any] | None) -> dict[tuple[int, str, str], dict[str, Any]]:
    """The deals a stored campaign (`Campaign.to_dict`) records, by ``(tier, url, target)``.

    Read as stored, without checking the campaign again: it was checked when stored.
    """
    deals = {}
    for tier, key in ((1, "tier1"), (2, "tier2")):
        for item in (spec or {}).get(key) or ():
            deal = {name: item.get(name) for name in DEAL_FIELDS}
            if any(value is not None for value in deal.values()):
                deals[(tier, item["url"], item["target"])] = deal
    return deals


def _entry_dict(entry: Entry) -> dict[str, str | float]:
    data: dict[str, str | float] = {"url": entry.url, "target": entry.target}
    for key in _OPTIONAL_ENTRY_KEYS:
        if (value := getattr(entry, key)) is not None:
            data[key] = value
    return data


# A place in the campaign's YAML shape: ("tier1", 0, "url").
_Path = tuple[str | int, ...]


def _label(path: _Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


@dataclass
class _Report:
    """Collects problems, each prefixed with where it is: ``file:line: tier1[0].url``."""

    source: str
    lines: dict[_Path, int] = field(default_factory=dict)
    hints: dict[_Path, str] = field(default_factory=dict)
    # CSV: an entry is a row, so its line names it better than "tier1[3]".
    rows: bool = False
    # (line, text): raised in line order, problems without a line first.
    problems: list[tuple[int, str]] = field(default_factory=list)

    def line(self, path: _Path) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def ref(self, path: _Path) -> str:
        """How another problem refers to ``path``: its line, or its label."""
        line = self.line(path)
        return f"line {line}" if line else _label(path)

    def add(self, path: _Path, message: str) -> None:
        shown = path[2:] if self.rows and len(path) > 1 and isinstance(path[1], int) else path
        hint = self.hints.get(path)
        self.at_line(self.line(path), _label(shown), f"{message} ({hint})" if hint else message)

    def at_line(self, line: int | None, *parts: str) -> None:
        where = f"{self.source}:{line}" if line else self.source
        self.problems.append((line or 0, ": ".join(part for part in (where, *parts) if part)))

    def fail(self, message: str, line: int | None = None) -> NoReturn:
        self.at_line(line, message)
        raise self.error()

    def override(self, data: dict[str, Any], key: str, value: str | None, hint: str) -> None:
        """Set top-level ``key`` from outside the file (a command-line option or the file name)."""
        if value is None:
            return
        data[key] = value
        self.lines.pop((key,), None)
        self.hints[(key,)] = hint

    def error(self) -> CampaignError:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        problems = [text for _, text in sorted(self.problems, key=lambda problem: problem[0])]
        return CampaignError(f"{self.source}: invalid campaign ({count} {noun})", problems)

    def raise_if_any(self) -> None:
        """Raise every problem so far as one `CampaignError`."""
        if self.problems:
            raise self.error()


def load_campaign(
    path: str | Path, *, name: str | None = None, money_site: str | None = None
) -> Campaign:
    """Load and validate a campaign file before anything is crawled.

    ``name`` and ``money_site`` (the ``--name``/``--money-site`` options) win
    over the file's values; a CSV file has no other place for them, so there
    they default to the file's stem and to the registered domain shared by the
    tier-1 targets.
    """
    path = Path(path)
    report = _Report(str(path))
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        report.fail("not a campaign file: use .yaml, .yml or .csv")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        report.fail(f"cannot read the file: {reason}")
    if suffix == ".csv":
        data = _read_csv(text, report)
        report.override(data, "name", path.stem if name is None else name, _name_hint(name, path))
        if money_site is not None:
            report.override(data, "money_site", money_site, "from --money-site")
        else:
            _infer_money_site(data, report)
    else:
        data = _read_yaml(text, report)
        if isinstance(data, dict):
            report.override(data, "name", name, "from --name")
            report.override(data, "money_site", money_site, "from --money-site")
    return _build(data, report)


def campaign_from_dict(data: Mapping[str, Any], *, source: str = "campaign") -> Campaign:
    """Validate a campaign in its YAML shape, such as one stored in MongoDB.

    The checks are those of `load_campaign`; problems name the entry
    (``tier1[2].url``), as there are no lines.
    """
    return _build(data, _Report(source))


# --- reading the files -------------------------------------------------------


# libyaml's parser when PyYAML was built with it (its wheels are): 7x faster on
# a campaign of thousands of entries, with the same nodes, marks and errors.
_YAMLLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str, report: _Report) -> Any:
    loader = _YAMLLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _YAMLLines(text, report).walk(root, (), root.start_mark.line + 1)
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context
        if exc.context and problem and problem.startswith("but "):
            problem = f"{exc.context}, {problem}"  # "expected a single document ..., but found"
        report.fail(f"bad YAML: {problem}", mark.line + 1 if mark else None)
    except yaml.reader.ReaderError as exc:
        # A character YAML refuses (a control character): named with its line, not its offset.
        line = text.count("\n", 0, exc.position) + 1
        report.fail(f"bad YAML: character {exc.character:#06x} is not allowed", line)
    except yaml.YAMLError as exc:
        report.fail(f"bad YAML: {exc}")
    except RecursionError:  # libyaml nests up to 1000 levels, more than Python's stack
        report.fail("bad YAML: nested too deeply")
    finally:
        loader.dispose()


# Aliases may repeat at most this many nodes in all: a campaign needs few, and a
# "billion laughs" file of a dozen lines would expand to billions.
_MAX_ALIASED_NODES = 10_000


class _YAMLLines:
    """Notes the line of every key and list item of a composed YAML document.

    It walks the document in order, aliases expanded, and flags keys given
    twice. What an alias repeats takes the alias's own line; an alias inside
    the node it names, or aliases repeating over `_MAX_ALIASED_NODES` nodes,
    stop the reading.
    """

    def __init__(self, text: str, report: _Report) -> None:
        self.text = text
        self.report = report
        self.seen: set[int] = set()
        self.open: set[int] = set()  # the nodes being walked, by id
        self.alias_lines: Iterator[int] | None = None
        self.aliased = 0

    def _next_alias_line(self) -> int:
        # Nodes do not know the aliases that name them: the parser's events do,
        # in the order in which the walk meets them.
        if self.alias_lines is None:
            events = yaml.parse(self.text, Loader=_YAMLLoader)
            self.alias_lines = (
                event.start_mark.line + 1 if event.start_mark else 0  # 0: no line known
                for event in events
                if isinstance(event, yaml.AliasEvent)
            )
        return next(self.alias_lines)

    def walk(self, node: yaml.Node, path: _Path | None, line: int, in_alias: bool = False) -> int:
        """Note ``line`` for ``path`` (unless None) and walk on; return the line noted."""
        if not in_alias and id(node) in self.seen:  # an alias: its anchor came first
            line, in_alias = self._next_alias_line(), True
        if id(node) in self.open:
            self.report.fail("bad YAML: an alias names a node that contains it", line)
        if in_alias:
            self.aliased += 1
            if self.aliased > _MAX_ALIASED_NODES:
                self.report.fail(
                    f"bad YAML: the aliases repeat more than {_MAX_ALIASED_NODES} nodes in all: "
                    "write the repeated values out",
                    line,
                )
        self.seen.add(id(node))
        if path:  # line 1 says nothing about a missing top-level key
            self.report.lines[path] = line
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._walk_mapping(node, path, line, in_alias)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                item_line = line if in_alias else item.start_mark.line + 1
                self.walk(item, None if path is None else (*path, index), item_line, in_alias)
        self.open.remove(id(node))
        return line

    def _walk_mapping(
        self, node: yaml.MappingNode, path: _Path | None, line: int, in_alias: bool
    ) -> None:
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            key_line = line if in_alias else key_node.start_mark.line + 1
            key_line = self.walk(key_node, None, key_line, in_alias)
            value_path = None if path is None else (*path, key)
            if value_path is not None and key in first_lines:
                self.report.at_line(
                    key_line, _label(value_path), f"given twice (first on line {first_lines[key]})"
                )
                value_path = None  # its aliases are still to be met, in order
            else:
                first_lines[key] = key_line
            self.walk(value_node, value_path, key_line, in_alias)


def _read_csv(text: str, report: _Report) -> dict[str, Any]:
    """The rows of a ``tier,url,target,anchor`` file, in the YAML shape."""
    report.rows = True
    data: dict[str, Any] = {"tier1": [], "tier2": []}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: list[str] | None = None
    last_line = 0
    try:
        for row in reader:
            line, last_line = last_line + 1, reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if columns is None:
                columns = _csv_header(cells, line, report)
            else:
                _csv_row(columns, cells, line, data, report)
    except csv.Error as exc:
        # The rows after it are unread, so only the rows before are checked, each
        # on its own: checks across entries would report what is merely unread.
        _entries(data, 1, report)
        _entries(data, 2, report)
        report.fail(f"bad CSV: {exc}", last_line + 1)
    if columns is None:
        report.fail(f"empty file: expected a header row {_CSV_HEADER}")
    # Rows with a bad tier are reported with the problems of the other rows.
    return data


def _csv_header(cells: list[str], line: int, report: _Report) -> list[str]:
    columns = [cell.lower() for cell in cells]
    unknown = [c for c in columns if c not in _CSV_COLUMNS]
    missing = [c for c in _CSV_REQUIRED_COLUMNS if c not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        # Rows read under a wrong header would only repeat the problem.
        report.fail(f"the header must be {_CSV_HEADER}, not {','.join(cells)}", line)
    return columns


def _csv_row(
    columns: list[str], cells: list[str], line: int, data: dict[str, Any], report: _Report
) -> None:
    fields = dict(zip(columns, cells))
    key = {"1": "tier1", "2": "tier2"}.get(fields.get("tier", ""))
    if key is None:
        report.at_line(line, f"tier must be 1 or 2, not {fields.get('tier', '')!r}")
        return
    path: _Path = (key, len(data[key]))
    report.lines[path] = line
    if len(cells) > len(columns):
        report.add(path, f"{len(cells)} fields where the header has {len(columns)}")
    data[key].append(
        {k: v for k, v in fields.items() if k != "tier" and (v or k not in _OPTIONAL_ENTRY_KEYS)}
    )


def _name_hint(name: str | None, path: Path) -> str:
    if name is not None:
        return "from --name"
    return (
        f"taken from the file name {path.name!r}; choose a valid one with "
        "`tiercrawl campaign push FILE --name NAME`, then crawl it by that name"
    )


# The options belong to `tiercrawl campaign push`, which stores the campaign to crawl by name.
_MONEY_SITE_HINT = "pass --money-site to `tiercrawl campaign push`"


def _infer_money_site(data: dict[str, Any], report: _Report) -> None:
    """The money site of a CSV campaign: the one registered domain of its tier-1 targets."""
    # A target that is no valid URL is reported as such, and names no site.
    targets = [entry.get("target", "") for entry in data["tier1"]]
    domains = sorted({site_domain(target) for target in targets if is_http_url(target)})
    if len(domains) == 1:
        report.override(data, "money_site", f"https://{domains[0]}/", "the tier-1 targets' domain")
    elif domains:
        report.hints[("money_site",)] = (
            f"the tier-1 targets span several domains ({', '.join(domains)}): " + _MONEY_SITE_HINT
        )
    else:
        report.hints[("money_site",)] = "no tier-1 target to take it from: " + _MONEY_SITE_HINT


# --- validation --------------------------------------------------------------


def _build(data: Any, report: _Report) -> Campaign:
    """Check ``data`` (the YAML shape) completely, then build the campaign or raise."""
    if not isinstance(data, Mapping):
        what = "empty" if data is None else _kind(data)
        report.add((), f"the campaign is {what}: expected a mapping with name, money_site, tier1")
        report.raise_if_any()
    _check_keys(data, (), _TOP_KEYS, _REQUIRED_TOP_KEYS, report)
    name = _text(data, ("name",), report)
    if name is not None and not NAME_PATTERN.fullmatch(name):
        report.add(("name",), f"{name!r} is not a valid name: use a-z 0-9 . _ -, at most 64")
    money_site = _url(data, ("money_site",), report)
    brand = _text_list(data, "brand", report)
    keywords = _text_list(data, "keywords", report)
    tier1 = _entries(data, 1, report)
    tier2 = _entries(data, 2, report)
    if "tier1" in data and data["tier1"] in (None, [], ()):  # other kinds: reported above
        report.add(("tier1",), "no entries: a campaign needs at least one tier-1 page")
    _cross_check(money_site, tier1, tier2, report)
    report.raise_if_any()
    # Every None was reported above.
    assert name is not None
    assert money_site is not None
    return Campaign(
        name=name,
        money_site=money_site,
        brand=brand,
        keywords=keywords,
        tier1=tuple(entry for _, entry in tier1),
        tier2=tuple(entry for _, entry in tier2),
    )


def _kind(value: Any) -> str:
    """What ``value`` is, as a message says it: "a list", "an empty value"."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "an empty value"  # a bare "-" or "key:"
    return "a text" if isinstance(value, str) else f"a {type(value).__name__}"


def _check_keys(
    data: Mapping[str, Any],
    path: _Path,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    report: _Report,
) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            expected = ", ".join(allowed)
            report.add((*path, key), f"unknown key{suggestion}; expected one of {expected}")
    for key in required:
        if key not in data:
            report.add((*path, key), "missing")


def _text(data: Mapping[str, Any], path: _Path, report: _Report) -> str | None:
    """The stripped text at ``data[path[-1]]``; None (reported when given) otherwise."""
    key = str(path[-1])
    value = data.get(key)
    if isinstance(value, str) and not value.strip():
        value = None  # blank text, such as --name '', is no value either
    if value is None:
        if key in data and key not in _OPTIONAL_ENTRY_KEYS:
            report.add(path, "empty")
        return None
    if not isinstance(value, str):
        quote = "" if isinstance(value, Mapping | list) else ": quote it"
        report.add(path, f"expected text, got {_kind(value)}{quote}")
        return None
    return value.strip()


def _url(data: Mapping[str, Any], path: _Path, report: _Report) -> str | None:
    url = _text(data, path, report)
    problem = None if url is None else http_url_problem(url)
    if problem:
        report.add(path, f"{url!r} is {problem}")
        return None
    return url


def _date(data: Mapping[str, Any], path: _Path, report: _Report) -> str | None:
    """The ISO date at ``data[path[-1]]`` (YAML reads one unquoted as a date), or None."""
    value = data.get(str(path[-1]))
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # optional: an empty cell is no date
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        with suppress(ValueError):
            return date.fromisoformat(value.strip()).isoformat()
    report.add(path, f"{str(value).strip()!r} is not a date: write it as YYYY-MM-DD")
    return None


def _price(data: Mapping[str, Any], path: _Path, report: _Report) -> float | None:
    """The price at ``data[path[-1]]``: a number, 0 or more (YAML's, or a CSV cell's text)."""
    value = data.get(str(path[-1]))
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # optional: an empty cell is no price
    price = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        price = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        price = float(value.strip())
    if price is None or not math.isfinite(price) or price < 0:
        report.add(
            path, f"{str(value).strip()!r} is not a price: write a number, such as 120 or 49.90"
        )
        return None
    return price


def _text_list(data: Mapping[str, Any], key: str, report: _Report) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        report.add((key,), f"expected a list of terms, got {_kind(value)}")
        return ()
    terms = []
    for index, term in enumerate(value):
        if isinstance(term, str) and term.strip():
            terms.append(term.strip())
        else:
            report.add((key, index), f"expected a term (text), got {term!r}")
    return tuple(terms)


# An entry with the path it came from, for problems found across entries.
_Located = tuple[_Path, Entry]


def _entries(data: Mapping[str, Any], tier: int, report: _Report) -> list[_Located]:
    key = f"tier{tier}"
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        report.add((key,), f"expected a list of entries, got {_kind(items)}")
        return []
    entries = []
    for index, item in enumerate(items):
        path: _Path = (key, index)
        if not isinstance(item, Mapping):
            report.add(path, f"expected an entry with url and target, got {_kind(item)}")
            continue
        _check_keys(item, path, _ENTRY_KEYS, ("url", "target"), report)
        url = _url(item, (*path, "url"), report)
        target = _url(item, (*path, "target"), report)
        anchor = _text(item, (*path, "anchor"), report) or None
        vendor = _text(item, (*path, "vendor"), report) or None
        guaranteed_until = _date(item, (*path, "guaranteed_until"), report)
        price = _price(item, (*path, "price"), report)
        if url is not None and target is not None:
            entry = Entry(tier, url, target, anchor, vendor, guaranteed_until, price)
            entries.append((path, entry))
    return entries


def _cross_check(
    money_site: str | None, tier1: list[_Located], tier2: list[_Located], report: _Report
) -> None:
    """Problems between entries: duplicates, off-site tier-1 targets, dangling tier-2 targets."""
    seen: dict[tuple[int, str, str], _Path] = {}
    for path, entry in tier1 + tier2:
        # The same page may carry links to two targets; the same link twice is a duplicate.
        key = (entry.tier, match_key(entry.url), match_key(entry.target))
        if key in seen:
            report.add(
                path, f"duplicate of the entry at {report.ref(seen[key])} (same url and target)"
            )
        else:
            seen[key] = path
    if money_site is not None:
        ours = site_domain(money_site)
        for path, entry in tier1:
            if site_domain(entry.target) != ours:
                report.add(
                    (*path, "target"),
                    f"{entry.target!r} is not on the money site's domain {ours}",
                )
    tier1_urls = {entry.url for _, entry in tier1}
    by_key = {match_key(url): url for url in tier1_urls}
    for path, entry in tier2:
        if entry.target in tier1_urls:
            continue
        near = by_key.get(match_key(entry.target))
        suggestion = f" (did you mean {near!r}?)" if near else ""
        report.add((*path, "target"), f"{entry.target!r} is not a tier-1 url{suggestion}")
