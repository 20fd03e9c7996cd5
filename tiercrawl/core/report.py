"""Report building: flat rows, summaries, SVG charts and HTML sections from ``scores``.

Pure: the report job reads the documents and the template, this module turns
them into text. Every string that came from a crawled page (anchor texts,
titles, explanations quoting anchors) goes through ``html.escape`` here, and
CSV cells that a spreadsheet would run as a formula are defused.

The HTML report is a list of sections; a new one is a function
``(ReportData) -> Section | None`` added to ``SECTIONS`` (or passed to
``render_html``), placed by its position in the list.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

from tiercrawl.core.anchors import ANCHOR_CLASSES
from tiercrawl.core.campaign import DEAL_FIELDS
from tiercrawl.core.history import MARKS, CampaignHistory
from tiercrawl.core.matching import FOUND_STATUSES
from tiercrawl.core.urls import is_http_url, match_key

__all__ = [
    "COLUMNS",
    "HISTORY_COLUMNS",
    "SECTIONS",
    "ReportData",
    "Section",
    "add_history",
    "csv_text",
    "defused",
    "guarantee",
    "json_text",
    "price_text",
    "render_html",
    "rows",
    "svg_bars",
    "under_guarantee",
]

COMPONENT_COLUMNS = ("relevance", "placement", "attributes", "indexability", "anchor", "support")
# What `tiercrawl history` says of a placement, up to the reported run (`add_history`).
HISTORY_COLUMNS = (
    "since",
    "since_or_earlier",
    "last_found",
    "found_runs",
    "read_runs",
    "lost",
    "timeline",
)
# The flat columns of the CSV and JSON reports, in order.
COLUMNS = (
    "run_id",
    "campaign",
    "tier",
    "url",
    "target",
    "status",
    "score",
    *COMPONENT_COLUMNS,
    "flags",
    "anchor_text",
    "anchor_class",
    "region",
    "rel",
    "support_planned",
    "support_found",
    "support_live",
    "explanation",
    *DEAL_FIELDS,
    *HISTORY_COLUMNS,
)
STATUS_ORDER = ("live", "nofollow", "not_indexable", "missing", "inconclusive", "page_error")
HISTOGRAM_BINS = 10
# Tier-1 pages named, at most, in the warning of their tier-2 anchors' overuse.
OVERUSED_PAGES_LISTED = 10

# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows(scores: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per score document (lists joined with ``;`` or spaces), tier then url order."""
    out = []
    for doc in scores:
        components = doc.get("components") or {}
        support = doc.get("support") or {}
        row: dict[str, Any] = {
            "run_id": doc.get("run_id"),
            "campaign": doc.get("campaign"),
            "tier": doc.get("tier"),
            "url": doc.get("url"),
            "target": doc.get("target"),
            "status": doc.get("status"),
            "score": doc.get("score"),
            **{name: components.get(name) for name in COMPONENT_COLUMNS},
            "flags": ";".join(doc.get("flags") or ()),
            "anchor_text": doc.get("anchor_text"),
            "anchor_class": doc.get("anchor_class"),
            "region": doc.get("region"),
            "rel": " ".join(doc.get("rel") or ()),
            "support_planned": support.get("planned"),
            "support_found": support.get("found"),
            "support_live": support.get("live"),
            "explanation": doc.get("explanation"),
            **{name: doc.get(name) for name in DEAL_FIELDS},
            **dict.fromkeys(HISTORY_COLUMNS),
        }
        out.append(row)
    out.sort(key=lambda r: (r["tier"] or 0, r["url"] or "", r["target"] or ""))
    return out


def add_history(table: Iterable[dict[str, Any]], history: CampaignHistory) -> None:
    """Fill the rows' `HISTORY_COLUMNS` from ``history``, whose newest run is the rows' run
    (so its placements have the rows' URL forms); a placement it lacks keeps None."""
    placements = {(p.tier, p.url, p.target): p for p in history.placements}
    for row in table:
        placement = placements.get((row["tier"], row["url"], row["target"]))
        if placement is not None:
            facts = history.placement_dict(placement)
            row.update({name: facts[name] for name in HISTORY_COLUMNS})


def defused(value: Any) -> Any:
    """``value`` with a leading ' if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(table: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV with a header; any text that looks like a formula is quoted with '.

    Every text cell, not only the anchor: crawled text reaches ``rel`` and the
    others too, and a spreadsheet runs what starts with ``=``, ``+``, ``-``, ``@``.
    Lines end in CRLF (RFC 4180), so that a lone CR inside a cell is quoted.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: defused(v) for k, v in row.items()})
    return buffer.getvalue()


def json_text(table: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a JSON array of flat records (``pandas.read_json(path)`` reads it as is)."""
    return json.dumps(list(table), ensure_ascii=False, indent=1, default=str) + "\n"


@dataclass
class ReportData:
    """One scored run, ready to render."""

    campaign: str
    run: Mapping[str, Any]
    table: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def of_tier(self, tier: int) -> list[dict[str, Any]]:
        return [row for row in self.table if row["tier"] == tier]

    def status_counts(self) -> Counter[str]:
        return Counter(row["status"] for row in self.table)

    def mean_score(self, tier: int) -> float | None:
        scores = [row["score"] for row in self.of_tier(tier) if row["score"] is not None]
        return round(sum(scores) / len(scores), 1) if scores else None

    def flag_counts(self) -> Counter[str]:
        return Counter(f for row in self.table for f in row["flags"].split(";") if f)

    def anchor_counts(self, tier: int) -> dict[str, int]:
        counted = Counter(row["anchor_class"] for row in self.of_tier(tier) if row["anchor_class"])
        return {name: counted.get(name, 0) for name in ANCHOR_CLASSES}

    def histogram(self) -> list[int]:
        bins = [0] * HISTOGRAM_BINS
        for row in self.table:
            if row["score"] is not None:
                bins[min(int(row["score"] // (100 / HISTOGRAM_BINS)), HISTOGRAM_BINS - 1)] += 1
        return bins


@dataclass(frozen=True)
class Section:
    """One part of the HTML report: ``body`` is HTML whose crawled text is already escaped."""

    id: str
    title: str
    body: str


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _url_cell(url: str | None) -> str:
    if not url:
        return ""
    if is_http_url(url):
        return f'<a href="{_e(url)}" rel="noopener noreferrer nofollow">{_e(url)}</a>'
    return _e(url)


def svg_bars(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    width: int = 560,
    bar_height: int = 22,
    label_width: int = 130,
    unit: str = "",
) -> str:
    """A horizontal bar chart as inline SVG: one bar per (label, value), value printed at its end."""
    height = bar_height * len(items) + 10
    top = max((value or 0 for _, value in items), default=0) or 1
    span = width - label_width - 60
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{_e(title)}">'
            f"<title>{_e(title)}</title>"
        )
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * bar_height
        length = round(span * (value or 0) / top, 1)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height * 0.68:.1f}" text-anchor="end">'
            f"{_e(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length:g}" height="{bar_height - 6}" '
            f'class="bar"/><text x="{label_width + length + 5:g}" '
            f'y="{y + bar_height * 0.68:.1f}" class="value">{_e(_number(value))}{_e(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _summary(data: ReportData) -> Section:
    counts = data.status_counts()
    tiles: list[tuple[str, float | None]] = [("placements", len(data.table))]
    tiles += [(status.replace("_", " "), counts.get(status, 0)) for status in STATUS_ORDER]
    tiles += [(f"avg score tier {t}", data.mean_score(t)) for t in (1, 2)]
    body = '<div class="tiles">' + "".join(
        f'<div class="tile" data-metric="{_e(label)}"><span class="num">{_e(_number(value))}'
        f'</span><span class="label">{_e(label)}</span></div>'
        for label, value in tiles
    )
    body += "</div>"
    flags = data.flag_counts()
    if flags:
        body += '<p class="flags-line">Flags: ' + ", ".join(
            f'<span class="flag">{_e(flag)}</span> {n}' for flag, n in flags.most_common()
        )
        body += "</p>"
    return Section("summary", "Summary", body)


def _anchors(data: ReportData) -> Section | None:
    scoring = data.run.get("scoring") or {}
    charts = []
    for tier in (1, 2):
        counts = data.anchor_counts(tier)
        total = sum(counts.values())
        if not total:
            continue
        items = [(name.replace("_", " "), 100 * n / total) for name, n in counts.items()]
        chart = svg_bars(items, title=f"Tier-{tier} anchor classes (% of found links)", unit="%")
        note = ""
        anchors = (scoring.get("anchors") or {}).get(str(tier)) or {}
        if anchors.get("exact_match_overuse"):
            note = (
                f'<p class="warn">exact_match_overuse: {counts.get("exact_match", 0)} of '
                f"{total} found tier-{tier} anchors "
                f"({100 * anchors.get('exact_match_share', 0):.0f}%) are exact-match keywords</p>"
            )
        note += _overused_pages(anchors.get("overused_pages") or [])
        charts.append(f"<figure><figcaption>Tier {tier}, {total} found links</figcaption>")
        charts.append(chart + note + "</figure>")
    if not charts:
        return None
    return Section("anchors", "Anchor-text distribution", "".join(charts))


def _overused_pages(pages: list[dict[str, Any]]) -> str:
    """Warnings for the tier-1 pages whose own tier-2 anchors overuse exact-match keywords."""
    lines = [
        f'<p class="warn">exact_match_overuse: {page["exact_match"]} of {page["found"]} found '
        f"tier-2 anchors to {_e(page['target'])} "
        f"({100 * page['exact_match'] / page['found']:.0f}%) are exact-match keywords</p>"
        for page in pages[:OVERUSED_PAGES_LISTED]
    ]
    if len(pages) > OVERUSED_PAGES_LISTED:
        more = len(pages) - OVERUSED_PAGES_LISTED
        lines.append(f'<p class="warn">… and {more} more tier-1 pages</p>')
    return "".join(lines)


def _histogram(data: ReportData) -> Section:
    step = 100 // HISTOGRAM_BINS
    labels = [
        f"{i * step}-{i * step + step - (1 if i < HISTOGRAM_BINS - 1 else 0)}"
        for i in range(HISTOGRAM_BINS)
    ]
    items = list(zip(labels, data.histogram()))
    return Section(
        "histogram", "Score histogram", svg_bars(items, title="Placements per score band")
    )


def _tier1(data: ReportData) -> Section | None:
    tier1 = data.of_tier(1)
    if not tier1:
        return None
    tier2_by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in data.of_tier(2):
        tier2_by_target[match_key(row["target"] or "")].append(row)
    lines = []
    for row in sorted(tier1, key=lambda r: -(r["score"] or 0)):
        supporters = tier2_by_target.get(match_key(row["url"] or ""), [])
        live = sum(1 for s in supporters if s["status"] == "live")
        mean = (
            _number(sum(s["score"] or 0 for s in supporters) / len(supporters))
            if supporters
            else "-"
        )
        lines.append(
            f'<tr><td>{_url_cell(row["url"])}</td><td class="st-{_e(row["status"])}">'
            f'{_e(row["status"])}</td><td class="n">{_e(_number(row["score"]))}</td>'
            f'<td class="n">{live} / {len(supporters)}</td><td class="n">{_e(mean)}</td>'
            f'<td class="n">{_e(_number(_pct(row["support"])))}</td>'
            f"<td>{_flags_cell(row['flags'])}</td></tr>"
        )
    body = (
        '<table class="t1"><thead><tr><th>Tier-1 page</th><th>Status</th><th>Score</th>'
        "<th>Live tier-2 / planned</th><th>Avg tier-2 score</th><th>Support</th><th>Flags</th>"
        "</tr></thead><tbody>" + "".join(lines) + "</tbody></table>"
    )
    return Section("tier1", "Tier-1 pages and their tier-2 support", body)


def under_guarantee(row: Mapping[str, Any]) -> bool:
    """Whether a lost link was lost (its ``since``) on or before its ``guaranteed_until``."""
    until, since = row.get("guaranteed_until"), row.get("since")
    return bool(row.get("lost") and until and since and str(since)[:10] <= until)


def guarantee(row: Mapping[str, Any]) -> str:
    """A lost link's guarantee, in words: what the vendor can be asked for."""
    until = row.get("guaranteed_until")
    if not until:
        return ""
    if under_guarantee(row):
        return f"lost under the guarantee (until {until}): claim it"
    return f"lost after the guarantee ended ({until})"


def price_text(price: float | None) -> str:
    """A price as the report shows it: whole, or with its cents."""
    if price is None:
        return ""
    return f"{price:.0f}" if float(price).is_integer() else f"{price:.2f}"


def _prices(rows: Iterable[Mapping[str, Any]]) -> list[float]:
    """The prices the campaign records for ``rows`` (a row without one is left out)."""
    return [row["price"] for row in rows if row["price"] is not None]


def _price_total(rows: Iterable[Mapping[str, Any]]) -> str:
    """What ``rows`` cost in all, in words; empty when none has a recorded price."""
    prices = _prices(rows)
    return price_text(sum(prices)) if prices else ""


def _prices_lost(lost: Sequence[Mapping[str, Any]], claims: Sequence[Mapping[str, Any]]) -> str:
    """What the lost links cost, where the campaign records their prices."""
    priced = _prices(lost)
    if not priced:
        return ""
    return (
        f" Their recorded prices: {price_text(sum(priced))} in all ({len(priced)} priced), "
        f"{price_text(sum(_prices(claims)))} of it lost under a guarantee."
    )


def _lost(data: ReportData) -> Section | None:
    """The links an earlier run found that are gone now: what to ask a site, or a vendor, for."""
    lost = [row for row in data.table if row["lost"]]
    if not lost:
        return None
    lines = [
        f"<tr><td>{row['tier']}</td><td>{_url_cell(row['url'])}</td>"
        f"<td>{_url_cell(row['target'])}</td><td>{_e(row['status'])}</td>"
        f"<td>{_placement_cell(row, 'since')}</td><td>{_placement_cell(row, 'last_found')}</td>"
        f"<td>{_placement_cell(row, 'timeline')}</td><td>{_e(row['vendor'])}</td>"
        f"<td>{_e(price_text(row['price']))}</td>"
        f"<td>{_e(guarantee(row))}</td><td>{_e(row['explanation'])}</td></tr>"
        for row in sorted(lost, key=lambda r: (r["since"] or "", r["url"] or ""), reverse=True)
    ]
    claims = [row for row in lost if under_guarantee(row)]
    body = (
        f"<p>{len(lost)} placement(s) whose link an earlier run found and the newest run "
        f"that read the page did not, most recent loss first; {len(claims)} lost under the "
        f"guarantee the campaign records for it.{_prices_lost(lost, claims)}</p>"
        "<table><thead><tr><th>Tier</th><th>Page</th><th>Target</th><th>Status</th>"
        "<th>Lost since</th><th>Last found</th><th>History</th><th>Vendor</th>"
        "<th>Price</th><th>Guarantee</th><th>Why</th></tr></thead>"
        f"<tbody>{''.join(lines)}</tbody></table>"
    )
    return Section("lost", "Lost links", body)


def _vendors(data: ReportData) -> Section | None:
    """How each vendor's links fare: which sellers' links stay, and what was paid for those lost."""
    by_vendor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in data.table:
        if row["vendor"]:
            by_vendor[row["vendor"]].append(row)
    if not by_vendor:
        return None
    lines = []
    for vendor, placed in sorted(by_vendor.items(), key=lambda item: item[0].casefold()):
        found = sum(1 for row in placed if row["status"] in FOUND_STATUSES)
        lost = [row for row in placed if row["lost"]]
        claims = sum(1 for row in lost if under_guarantee(row))
        lines.append(
            f'<tr><td>{_e(vendor)}</td><td class="n">{len(placed)}</td>'
            f'<td class="n">{found}</td><td class="n">{len(lost)}</td><td class="n">{claims}</td>'
            f'<td class="n">{_e(_price_total(placed))}</td>'
            f'<td class="n">{_e(_price_total(lost))}</td></tr>'
        )
    body = (
        "<p>The placements whose entry names a vendor, by vendor: how many links were found "
        "(live, nofollow or on a page not indexable), how many were lost (found by an earlier "
        "run, gone now) and how many of those under their guarantee, with the prices the "
        "campaign records.</p>"
        "<table><thead><tr><th>Vendor</th><th>Placements</th><th>Links found</th>"
        "<th>Lost</th><th>Lost under guarantee</th><th>Price, all</th><th>Price, lost</th>"
        f"</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )
    return Section("vendors", "Vendors", body)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _flags_cell(flags: str) -> str:
    return " ".join(f'<span class="flag">{_e(f)}</span>' for f in flags.split(";") if f)


_PLACEMENT_HEADERS = (
    ("tier", "Tier", "n"),
    ("url", "Page", "s"),
    ("target", "Target", "s"),
    ("status", "Status", "s"),
    ("score", "Score", "n"),
    ("relevance", "Rel.", "n"),
    ("placement", "Place.", "n"),
    ("attributes", "Attr.", "n"),
    ("indexability", "Index.", "n"),
    ("anchor", "Anchor", "n"),
    ("anchor_text", "Anchor text", "s"),
    ("anchor_class", "Anchor class", "s"),
    ("flags", "Flags", "s"),
    ("since", "Since", "s"),
    ("timeline", "History", "s"),
    ("explanation", "Why", "s"),
)
_TIMELINE_TITLE = "a mark a run, oldest first: " + ", ".join(
    f"{mark} {status}" for status, mark in MARKS.items()
)


def _placement_cell(row: Mapping[str, Any], column: str) -> str:
    value = row[column]
    if column in ("url", "target"):
        return _url_cell(value)
    if column == "flags":
        return _flags_cell(value)
    if column in COMPONENT_COLUMNS:
        return _e(_number(_pct(value)))
    if column == "score":
        return _e(_number(value))
    if column in ("since", "last_found") and value:
        earlier = " or earlier" if column == "since" and row["since_or_earlier"] else ""
        return _e(str(value)[:16].replace("T", " ") + earlier)
    if column == "timeline" and value:
        return f'<code title="{_e(_TIMELINE_TITLE)}">{_e(value)}</code>'
    return _e(value)


def _placements(data: ReportData) -> Section:
    head = "".join(
        f'<th data-type="{kind}" tabindex="0">{_e(title)}</th>'
        for _, title, kind in _PLACEMENT_HEADERS
    )
    body_rows = []
    for row in sorted(data.table, key=lambda r: -(r["score"] or 0)):
        cells = "".join(
            f'<td data-v="{_e(row[col] if row[col] is not None else "")}"'
            f"{' class=n' if kind == 'n' else ''}>{_placement_cell(row, col)}</td>"
            for col, _, kind in _PLACEMENT_HEADERS
        )
        body_rows.append(f'<tr class="st-{_e(row["status"])}">{cells}</tr>')
    body = (
        '<p class="hint">Components as % of their best (100). Click a column to sort.</p>'
        f'<table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body_rows)}</tbody></table>"
    )
    return Section("placements", "All placements", body)


# The report's sections, top to bottom.
SECTIONS: list[Callable[[ReportData], Section | None]] = [
    _summary,
    _lost,
    _vendors,
    _anchors,
    _histogram,
    _tier1,
    _placements,
]


def _script_hash(template: str) -> str:
    # The page's Content-Security-Policy runs only the template's own script,
    # so even a script that slipped into the page would stay inert.
    script = template.split("<script>", 1)[1].split("</script>", 1)[0].replace("$$", "$")
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_html(
    template: str,
    data: ReportData,
    sections: Iterable[Callable[[ReportData], Section | None]] | None = None,
) -> str:
    """The report as one HTML page: ``template`` (a ``string.Template``) filled with the sections."""
    built = [s for s in (make(data) for make in (sections or SECTIONS)) if s is not None]
    nav = " · ".join(f'<a href="#{_e(s.id)}">{_e(s.title)}</a>' for s in built)
    body = "".join(
        f'<section id="{_e(s.id)}"><h2>{_e(s.title)}</h2>{s.body}</section>' for s in built
    )
    run = data.run
    scoring = run.get("scoring") or {}
    weights = scoring.get("weights") or {}
    meta = (
        f"Run <code>{_e(run.get('_id'))}</code>, started {_e(run.get('started_at'))}, "
        f"scored {_e(scoring.get('scored_at'))}. Weights: "
        + ", ".join(f"{_e(k)} {_e(_number(v))}" for k, v in weights.items())
    )
    notes = "".join(f'<p class="warn">{_e(note)}</p>' for note in data.notes)
    return Template(template).substitute(
        script_hash=_script_hash(template),
        title=_e(f"tiercrawl report: {data.campaign}"),
        campaign=_e(data.campaign),
        meta=meta,
        notes=notes,
        nav=nav,
        sections=body,
    )
