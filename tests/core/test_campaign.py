from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from tiercrawl.core.campaign import (
    Campaign,
    Entry,
    campaign_from_dict,
    load_campaign,
    spec_deals,
)
from tiercrawl.exceptions import CampaignError

DATA = Path(__file__).parents[1] / "data" / "campaigns"

MINIMAL = """\
name: c
money_site: https://acme.example/
tier1:
  - url: https://blog.example.org/a
    target: https://acme.example/
"""


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, **kwargs: str) -> list[str]:
    with pytest.raises(CampaignError) as info:
        load_campaign(path, **kwargs)
    return info.value.problems


def _one_problem(tmp_path: Path, text: str, name: str = "c.yaml", **kwargs: str) -> str:
    problems = _problems(_write(tmp_path, text, name), **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


# --- valid files ---------------------------------------------------------------


def test_valid_yaml() -> None:
    assert load_campaign(DATA / "acme-drills.yaml") == Campaign(
        name="acme-drills",
        money_site="https://www.acme.example/",
        brand=("Acme", "Acme Tools"),
        keywords=("cordless drill", "power drill"),
        tier1=(
            Entry(
                1,
                "https://blog.example.org/best-drills",
                "https://www.acme.example/drills/",
                "cordless drills",
            ),
            Entry(1, "https://blog.example.org/best-drills", "https://www.acme.example/", "Acme"),
            Entry(1, "https://reviews.example.com/drills", "https://acme.example/drills"),
        ),
        tier2=(
            Entry(2, "https://forum.example.net/t/123", "https://blog.example.org/best-drills"),
            Entry(2, "https://reviews.example.com/drills", "https://blog.example.org/best-drills"),
        ),
    )


def test_valid_csv() -> None:
    assert load_campaign(DATA / "acme-drills.csv") == Campaign(
        name="acme-drills",
        money_site="https://acme.example/",
        brand=(),
        keywords=(),
        tier1=(
            Entry(
                1,
                "https://blog.example.org/best-drills",
                "https://www.acme.example/drills/",
                "cordless drills",
            ),
            Entry(1, "https://reviews.example.com/drills", "https://acme.example/drills"),
        ),
        tier2=(
            Entry(
                2,
                "https://forum.example.net/t/123",
                "https://blog.example.org/best-drills",
                "forum, thread",
            ),
        ),
    )


def test_csv_options_win() -> None:
    campaign = load_campaign(
        DATA / "acme-drills.csv", name="drills-2", money_site="https://www.acme.example/"
    )
    assert (campaign.name, campaign.money_site) == ("drills-2", "https://www.acme.example/")


def test_yaml_options_win(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    campaign = load_campaign(path, name="other", money_site="https://www.acme.example/")
    assert (campaign.name, campaign.money_site) == ("other", "https://www.acme.example/")


def test_options_fill_missing_yaml_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace("name: c\n", ""))
    assert load_campaign(path, name="given").name == "given"


def test_pages_once_each_with_lowest_tier_in_document_order() -> None:
    campaign = load_campaign(DATA / "acme-drills.yaml")
    assert campaign.pages() == [
        ("https://blog.example.org/best-drills", 1),
        ("https://reviews.example.com/drills", 1),
        ("https://forum.example.net/t/123", 2),
        ("https://www.acme.example/drills/", 0),
        ("https://www.acme.example/", 0),
        ("https://acme.example/drills", 0),
    ]


def test_entries_tier1_first() -> None:
    campaign = load_campaign(DATA / "acme-drills.yaml")
    assert campaign.entries() == campaign.tier1 + campaign.tier2
    assert [entry.tier for entry in campaign.entries()] == [1, 1, 1, 2, 2]


def test_to_dict_round_trip() -> None:
    campaign = load_campaign(DATA / "acme-drills.yaml")
    data = campaign.to_dict()
    assert data["tier1"][2] == {
        "url": "https://reviews.example.com/drills",
        "target": "https://acme.example/drills",
    }
    assert campaign_from_dict(data) == campaign


def test_same_page_may_link_two_targets(tmp_path: Path) -> None:
    text = MINIMAL + "  - url: https://blog.example.org/a\n    target: https://acme.example/b\n"
    assert len(load_campaign(_write(tmp_path, text)).tier1) == 2


def test_tier2_section_optional_and_null_anchor(tmp_path: Path) -> None:
    campaign = load_campaign(_write(tmp_path, MINIMAL + "    anchor:\ntier2: []\n"))
    assert campaign.tier2 == ()
    assert campaign.tier1[0].anchor is None


# --- one problem of each kind ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + "colour: red\n", "c.yaml:6: colour: unknown key; expected one of"),
        (MINIMAL + "tier_2: []\n", "c.yaml:6: tier_2: unknown key (did you mean 'tier2'?)"),
        (
            MINIMAL + "    anchr: x\n",
            "c.yaml:6: tier1[0].anchr: unknown key (did you mean 'anchor'?)",
        ),
        (MINIMAL.replace("name: c\n", ""), "c.yaml: name: missing"),
        (
            MINIMAL.replace("money_site: https://acme.example/\n", ""),
            "c.yaml: money_site: missing",
        ),
        ("name: c\nmoney_site: https://acme.example/\n", "c.yaml: tier1: missing"),
        (
            MINIMAL.replace("    target: https://acme.example/\n", ""),
            "c.yaml:4: tier1[0].target: missing",
        ),
        (
            MINIMAL.replace("name: c", "name: Acme Drills"),
            "c.yaml:1: name: 'Acme Drills' is not a valid name",
        ),
        (MINIMAL.replace("name: c", "name: " + "a" * 65), "c.yaml:1: name: 'aaaa"),
        (MINIMAL.replace("name: c", "name: 42"), "c.yaml:1: name: expected text, got a number"),
        (MINIMAL.replace("name: c", "name:"), "c.yaml:1: name: empty"),
        (
            MINIMAL.replace("name: c", "name: {a: b}"),
            "c.yaml:1: name: expected text, got a mapping",
        ),
        (
            MINIMAL.replace("money_site: https", "money_site: ftp"),
            "c.yaml:2: money_site: 'ftp://acme.example/' is not an http(s) URL",
        ),
        (
            MINIMAL.replace("url: https://blog", "url: blog"),
            "c.yaml:4: tier1[0].url: 'blog.example.org/a' is not an http(s) URL",
        ),
        (
            MINIMAL.replace("target: https://acme", "target: mailto:x@acme"),
            "c.yaml:5: tier1[0].target: 'mailto:x@acme.example/' is not an http(s) URL",
        ),
        (
            MINIMAL.replace("url: https://blog.example.org/a", "url: http://127.0.0.1:99999/a"),
            (
                "c.yaml:4: tier1[0].url: 'http://127.0.0.1:99999/a' is not a valid http(s) URL: "
                "the port '99999' is not a number from 1 to 65535"
            ),
        ),
        (
            MINIMAL.replace("url: https://blog.example.org/a", "url: http://127.0.0.1:abc/a"),
            "c.yaml:4: tier1[0].url: 'http://127.0.0.1:abc/a' is not a valid http(s) URL: the port",
        ),
        (
            MINIMAL.replace("url: https://blog.example.org/a", "url: http://127.0.0.1 x:9/a"),
            (
                "c.yaml:4: tier1[0].url: 'http://127.0.0.1 x:9/a' is not a valid http(s) URL: "
                "it contains whitespace or a control character"
            ),
        ),
        (
            MINIMAL.replace(
                "url: https://blog.example.org/a", 'url: "http://127.0.0.1:9/a\\x01\\nb"'
            ),
            "c.yaml:4: tier1[0].url: 'http://127.0.0.1:9/a\\x01\\nb' is not a valid http(s) URL",
        ),
        (
            MINIMAL.replace("target: https://acme.example/", "target: https://acme..example/"),
            "c.yaml:5: tier1[0].target: 'https://acme..example/' is not a valid http(s) URL: the host",
        ),
        (
            MINIMAL
            + "tier2:\n  - url: https://forum.example.net/1\n    target: https://blog.example.org/b\n",
            "c.yaml:8: tier2[0].target: 'https://blog.example.org/b' is not a tier-1 url",
        ),
        (
            MINIMAL
            + "tier2:\n  - url: https://forum.example.net/1\n    target: https://www.blog.example.org/a/\n",
            (
                "c.yaml:8: tier2[0].target: 'https://www.blog.example.org/a/' is not a tier-1 url "
                "(did you mean 'https://blog.example.org/a'?)"
            ),
        ),
        (
            MINIMAL
            + "  - url: https://blog.example.org/a/\n    target: https://www.acme.example\n",
            "c.yaml:6: tier1[1]: duplicate of the entry at line 4 (same url and target)",
        ),
        (
            MINIMAL.replace("target: https://acme.example/", "target: https://acme.example.net/"),
            "c.yaml:5: tier1[0].target: 'https://acme.example.net/' is not on the money site's domain acme.example",
        ),
        (
            MINIMAL.replace("tier1:\n", "tier1: []\n").split("  - url")[0],
            "c.yaml:3: tier1: no entries",
        ),
        (
            MINIMAL + "tier2: https://x.example/\n",
            "c.yaml:6: tier2: expected a list of entries, got a text",
        ),
        (
            MINIMAL + "tier2:\n  - https://x.example/\n",
            "c.yaml:7: tier2[0]: expected an entry with url and target",
        ),
        (MINIMAL + "brand: Acme\n", "c.yaml:6: brand: expected a list of terms, got a text"),
        (
            "name: c\nmoney_site: https://acme.example/\ntier1: ''\n",
            "c.yaml:3: tier1: expected a list of entries, got a text",
        ),
        (
            MINIMAL + "  -\n",
            "c.yaml:6: tier1[1]: expected an entry with url and target, got an empty value",
        ),
        (
            MINIMAL + "keywords: [drill, {a: b}]\n",
            "c.yaml:6: keywords[1]: expected a term (text), got {'a': 'b'}",
        ),
        (
            MINIMAL + "    anchor: yes\n",
            "c.yaml:6: tier1[0].anchor: expected text, got a boolean: quote it",
        ),
        (MINIMAL + "name: d\n", "c.yaml:6: name: given twice (first on line 1)"),
        (MINIMAL + "tier2: [\n", "c.yaml:7: bad YAML: did not find expected node content"),
        ("name: c\n\tmoney_site: x\n", "c.yaml:2: bad YAML:"),
        (MINIMAL + "brand: [A\x07cme]\n", "c.yaml:6: bad YAML: character 0x0007 is not allowed"),
        (
            MINIMAL + "---\nname: d\n",
            "c.yaml:6: bad YAML: expected a single document in the stream, but found another",
        ),
        (
            "- a\n- b\n",
            "c.yaml: the campaign is a list: expected a mapping with name, money_site, tier1",
        ),
        ("# nothing\n", "c.yaml: the campaign is empty"),
    ],
)
def test_yaml_problem(tmp_path: Path, text: str, expected: str) -> None:
    assert _one_problem(tmp_path, text).startswith(f"{tmp_path}/{expected}")


def test_aliases_load(tmp_path: Path) -> None:
    text = """\
name: c
money_site: https://acme.example/
keywords: &terms [drill, saw]
brand: *terms
tier1:
  - &entry
    url: &page https://blog.example.org/a
    target: https://acme.example/
  - <<: *entry
    target: https://acme.example/b
tier2:
  - url: https://forum.example.net/1
    target: *page
"""
    campaign = load_campaign(_write(tmp_path, text))
    assert campaign.brand == campaign.keywords == ("drill", "saw")
    assert [entry.target for entry in campaign.entries()] == [
        "https://acme.example/",
        "https://acme.example/b",
        "https://blog.example.org/a",
    ]


def test_an_alias_is_reported_on_its_own_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - url:", "  - &a\n    url:") + "  - *a\n"
    problem = _one_problem(tmp_path, text)
    assert problem == (
        f"{tmp_path / 'c.yaml'}:7: tier1[1]: duplicate of the entry at line 4 (same url and target)"
    )


def _alias_bomb() -> str:
    """A "billion laughs": eight levels of nine aliases, 9**9 strings once expanded."""
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 8):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        levels.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(levels) + f"\ntier1: [{', '.join(['*a7'] * 9)}]\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: c\nmoney_site: https://acme.example/\n" + _alias_bomb())
    started = time.perf_counter()
    problems = _problems(path)
    assert time.perf_counter() - started < 0.5
    assert len(problems) == 1, problems
    assert problems[0].endswith(
        ": bad YAML: the aliases repeat more than 10000 nodes in all: write the repeated values out"
    )


def test_an_alias_inside_its_own_node_is_refused(tmp_path: Path) -> None:
    problem = _one_problem(
        tmp_path, "name: c\nmoney_site: https://acme.example/\ntier1: &a [*a]\n"
    )
    assert problem == f"{tmp_path / 'c.yaml'}:3: bad YAML: an alias names a node that contains it"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    text = "name: c\ntier1: " + "[" * 990 + "]" * 990 + "\n"
    assert _one_problem(tmp_path, text) == f"{tmp_path / 'c.yaml'}: bad YAML: nested too deeply"


def test_unknown_suffix(tmp_path: Path) -> None:
    problem = _one_problem(tmp_path, MINIMAL, name="c.json")
    assert problem == f"{tmp_path / 'c.json'}: not a campaign file: use .yaml, .yml or .csv"


def test_unreadable_file(tmp_path: Path) -> None:
    assert _problems(tmp_path / "absent.yaml") == [
        f"{tmp_path / 'absent.yaml'}: cannot read the file: No such file or directory"
    ]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_bytes(b"name: \xff\n")
    assert "cannot read the file" in _problems(path)[0]


def test_error_summary(tmp_path: Path) -> None:
    with pytest.raises(CampaignError, match=r"c\.yaml: invalid campaign \(1 problem\)"):
        load_campaign(_write(tmp_path, MINIMAL + "x: 1\n"))


def test_all_problems_reported_together_in_line_order() -> None:
    source = DATA / "broken.yaml"
    assert _problems(source) == [
        f"{source}:1: name: 'Broken Campaign' is not a valid name: use a-z 0-9 . _ -, at most 64",
        f"{source}:4: tier1[0].url: 'ftp://files.example.org/x' is not an http(s) URL",
        f"{source}:6: tier1[0].anchr: unknown key (did you mean 'anchor'?); expected one of url, target, anchor, vendor, guaranteed_until, price",
        f"{source}:8: tier1[1].target: 'https://elsewhere.example/' is not on the money site's domain acme.example",
        f"{source}:11: tier2[0].target: 'https://blog.example.org/not-tier1' is not a tier-1 url",
    ]


# --- CSV -----------------------------------------------------------------------------

HEADER = "tier,url,target,anchor\n"
ROW1 = "1,https://blog.example.org/a,https://acme.example/,\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEADER + ROW1 + "3,https://x.example/,https://acme.example/,\n",
            "c.csv:3: tier must be 1 or 2, not '3'",
        ),
        (
            HEADER + ROW1 + "2,https://x.example/,https://blog.example.org/b,\n",
            "c.csv:3: target: 'https://blog",
        ),
        (
            HEADER + ROW1 + "1,https://x.example/,https://acme.example/,a,b\n",
            "c.csv:3: 5 fields where the header has 4",
        ),
        (HEADER + ROW1 + "1,https://x.example/\n", "c.csv:3: target: missing"),
        (
            HEADER + ROW1 + "1,x.example,https://acme.example/,\n",
            "c.csv:3: url: 'x.example' is not an http(s) URL",
        ),
        (
            HEADER + ROW1 + "\n\n" + ROW1,
            "c.csv:5: duplicate of the entry at line 2 (same url and target)",
        ),
        (
            "tier,url,link\n" + ROW1,
            "c.csv:1: the header must be tier,url,target,anchor (vendor, guaranteed_until and price may follow), not tier,url,link",
        ),
        (
            ROW1,
            "c.csv:1: the header must be tier,url,target,anchor (vendor, guaranteed_until and price may follow)",
        ),
        (
            HEADER + '1,"https://blog.example.org/a" x,https://acme.example/,\n',
            "c.csv:2: bad CSV: ",
        ),
        (
            HEADER + '1,"https://blog.example.org/a,https://acme.example/,\n',
            "c.csv:2: bad CSV: unexpected end of data",
        ),
        (
            "",
            "c.csv: empty file: expected a header row tier,url,target,anchor (vendor, guaranteed_until and price may follow)",
        ),
        (HEADER, "c.csv: tier1: no entries"),
        (
            HEADER + "2,https://x.example/,https://acme.example/,\n",
            "c.csv: money_site: missing (no tier-1 target to take it from: pass --money-site to `tiercrawl campaign push`)",
        ),
        (
            HEADER + ROW1 + "1,https://b.example.org/,https://acme.org/,\n",
            (
                "c.csv: money_site: missing (the tier-1 targets span several domains "
                "(acme.example, acme.org): pass --money-site to `tiercrawl campaign push`)"
            ),
        ),
    ],
)
def test_csv_problem(tmp_path: Path, text: str, expected: str) -> None:
    problems = _problems(_write(tmp_path, text, "c.csv"))
    assert any(p.startswith(f"{tmp_path}/{expected}") for p in problems), problems


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ('1,"https://blog.example.org/b,https://acme.example/,\n', "unexpected end of data"),
        (
            "1,https://blog.example.org/b,https://acme.example/," + "x" * 200_000 + "\n",
            "field larger than field limit (131072)",
        ),
    ],
)
def test_csv_syntax_error_is_reported_alone(tmp_path: Path, row: str, error: str) -> None:
    assert _problems(_write(tmp_path, HEADER + row, "c.csv")) == [
        f"{tmp_path / 'c.csv'}:2: bad CSV: {error}"
    ]


def test_csv_rows_before_a_syntax_error_are_checked(tmp_path: Path) -> None:
    text = (
        HEADER
        + "2,https://forum.example.net/1,https://blog.example.org/b,\n"
        + "1,ftp://x.example/,https://acme.example/,\n"
        + '1,"https://blog.example.org/b,https://acme.example/,\n'
    )
    path = _write(tmp_path, text, "c.csv")
    assert _problems(path) == [
        f"{path}:3: url: 'ftp://x.example/' is not an http(s) URL",
        f"{path}:4: bad CSV: unexpected end of data",
    ]


def test_csv_nul_in_a_url(tmp_path: Path) -> None:
    text = HEADER + ROW1 + "1,https://blog.example.org/\x00b,https://acme.example/,\n"
    assert _problems(_write(tmp_path, text, "c.csv")) == [
        (
            f"{tmp_path / 'c.csv'}:3: url: 'https://blog.example.org/\\x00b' is not a valid "
            "http(s) URL: it contains whitespace or a control character"
        )
    ]


def test_csv_money_site_is_inferred_from_valid_targets_only(tmp_path: Path) -> None:
    text = HEADER + ROW1 + "1,https://blog.example.org/b,https://acme .example.org/,\n"
    problems = _problems(_write(tmp_path, text, "c.csv"))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'c.csv'}:3: target: 'https://acme .example.org/'")


def test_csv_lines_count_quoted_newlines(tmp_path: Path) -> None:
    text = (
        HEADER
        + '1,https://blog.example.org/a,https://acme.example/,"two\nlines"\n'
        + "1,ftp://x/,https://acme.example/,\n"
    )
    assert _problems(_write(tmp_path, text, "c.csv")) == [
        f"{tmp_path / 'c.csv'}:4: url: 'ftp://x/' is not an http(s) URL"
    ]


def test_csv_header_columns_in_any_order_anchor_optional(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "URL,Target,Tier\nhttps://blog.example.org/a,https://acme.example/,1\n", "c.csv"
    )
    assert load_campaign(path).tier1 == (
        Entry(1, "https://blog.example.org/a", "https://acme.example/"),
    )


def test_csv_name_from_invalid_stem(tmp_path: Path) -> None:
    problem = _one_problem(tmp_path, HEADER + ROW1, name="My Campaign.csv")
    assert problem == (
        f"{tmp_path / 'My Campaign.csv'}: name: 'My Campaign' is not a valid name: use a-z 0-9 . _ -, "
        "at most 64 (taken from the file name 'My Campaign.csv'; choose a valid one with "
        "`tiercrawl campaign push FILE --name NAME`, then crawl it by that name)"
    )
    assert load_campaign(tmp_path / "My Campaign.csv", name="my-campaign").name == "my-campaign"


def test_csv_invalid_name_option(tmp_path: Path) -> None:
    assert _problems(_write(tmp_path, HEADER + ROW1, "c.csv"), name="Bad")[0].endswith(
        "(from --name)"
    )


def test_csv_empty_name_option(tmp_path: Path) -> None:
    assert _problems(_write(tmp_path, HEADER + ROW1, "c.csv"), name="") == [
        f"{tmp_path / 'c.csv'}: name: empty (from --name)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace("name: c", 'name: " "'), "c.yaml:1: name: empty"),
        (
            MINIMAL.replace("url: https://blog.example.org/a", 'url: ""'),
            "c.yaml:4: tier1[0].url: empty",
        ),
        (HEADER + "1,,https://acme.example/,\n", "c.csv:2: url: empty"),
    ],
)
def test_blank_values_are_empty(tmp_path: Path, text: str, expected: str) -> None:
    name = "c.csv" if text.startswith(HEADER) else "c.yaml"
    assert _one_problem(tmp_path, text, name=name) == f"{tmp_path}/{expected}"


def test_csv_invalid_money_site_option(tmp_path: Path) -> None:
    problem = _one_problem(tmp_path, HEADER + ROW1, name="c.csv", money_site="acme.example")
    assert problem.endswith("money_site: 'acme.example' is not an http(s) URL (from --money-site)")


def test_csv_money_site_option_checks_tier1_domains(tmp_path: Path) -> None:
    problem = _one_problem(
        tmp_path, HEADER + ROW1, name="c.csv", money_site="https://other.example/"
    )
    assert "is not on the money site's domain other.example" in problem


# --- stored campaigns ------------------------------------------------------------------


def test_from_dict_problems_name_entries() -> None:
    data = {
        "name": "c",
        "money_site": "https://acme.example/",
        "tier1": [
            {"url": "https://blog.example.org/a", "target": "https://acme.example/"},
            {"url": "x"},
        ],
    }
    with pytest.raises(CampaignError) as info:
        campaign_from_dict(data, source="stored campaign c")
    assert info.value.problems == [
        "stored campaign c: tier1[1].target: missing",
        "stored campaign c: tier1[1].url: 'x' is not an http(s) URL",
    ]


def test_from_dict_not_a_mapping() -> None:
    with pytest.raises(CampaignError) as info:
        campaign_from_dict([])  # type: ignore[arg-type]
    assert info.value.problems == [
        "campaign: the campaign is a list: expected a mapping with name, money_site, tier1"
    ]


# --- the deal: vendor, guarantee and price ----------------------------------------------------


def test_an_entry_records_its_vendor_and_guarantee_in_yaml_and_csv(tmp_path: Path) -> None:
    yaml_path = _write(
        tmp_path,
        MINIMAL + "    vendor: Outreach Co\n    guaranteed_until: 2027-06-30\n",
    )
    csv_path = _write(
        tmp_path,
        "tier,url,target,vendor,guaranteed_until\n"
        "1,https://blog.example.org/a,https://acme.example/,Outreach Co,2027-06-30\n"
        "1,https://blog.example.org/b,https://acme.example/,,\n",
        "c.csv",
    )
    deal = Entry(
        1, "https://blog.example.org/a", "https://acme.example/", None, "Outreach Co", "2027-06-30"
    )
    assert load_campaign(yaml_path).tier1 == (deal,)
    from_csv = load_campaign(csv_path)
    assert from_csv.tier1 == (
        deal,
        Entry(1, "https://blog.example.org/b", "https://acme.example/"),
    )
    # Stored and loaded back (Scrapyd nodes read stored campaigns) with the deal.
    assert campaign_from_dict(from_csv.to_dict()) == from_csv


def test_an_entry_records_its_price_in_yaml_and_csv(tmp_path: Path) -> None:
    yaml_path = _write(tmp_path, MINIMAL + "    price: 120\n")
    csv_path = _write(
        tmp_path,
        "tier,url,target,price\n"
        "1,https://blog.example.org/a,https://acme.example/,49.90\n"
        "1,https://blog.example.org/b,https://acme.example/,\n",
        "c.csv",
    )
    [priced] = load_campaign(yaml_path).tier1
    assert priced.price == 120.0
    from_csv = load_campaign(csv_path)
    assert [entry.price for entry in from_csv.tier1] == [49.9, None]
    assert campaign_from_dict(from_csv.to_dict()) == from_csv


def test_a_stored_campaign_gives_the_deals_of_its_entries_by_placement(tmp_path: Path) -> None:
    campaign = load_campaign(
        _write(tmp_path, MINIMAL + "    vendor: Outreach Co\n    price: 49.90\n")
    )
    (entry,) = campaign.tier1
    assert spec_deals(campaign.to_dict()) == {
        (1, entry.url, entry.target): {
            "vendor": "Outreach Co",
            "guaranteed_until": None,
            "price": 49.9,
        }
    }
    plain = replace(campaign, tier1=(replace(entry, vendor=None, price=None),))
    assert spec_deals(plain.to_dict()) == {}  # no deal recorded, none given
    assert spec_deals(None) == {}  # a run stored before campaigns were


_NO_PRICE = "is not a price: write a number, such as 120 or 49.90"
_NO_DATE = "is not a date: write it as YYYY-MM-DD"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("price", "$120", f"'$120' {_NO_PRICE}"),
        ("price", "-5", f"'-5' {_NO_PRICE}"),
        ("price", "'12,50'", f"'12,50' {_NO_PRICE}"),
        ("price", "true", f"'True' {_NO_PRICE}"),
        ("price", ".nan", f"'nan' {_NO_PRICE}"),
        ("guaranteed_until", "30.06.2027", f"'30.06.2027' {_NO_DATE}"),
        ("guaranteed_until", "'2027-02-30'", f"'2027-02-30' {_NO_DATE}"),
        ("guaranteed_until", "2027-06-30 10:00", f"'2027-06-30 10:00' {_NO_DATE}"),
        # a YAML timestamp
        ("guaranteed_until", "2027-06-30 10:00:00", f"'2027-06-30 10:00:00' {_NO_DATE}"),
        ("guaranteed_until", "2027", f"'2027' {_NO_DATE}"),
    ],
)
def test_a_deal_value_of_the_wrong_kind_is_named_with_its_line(
    tmp_path: Path, key: str, value: str, problem: str
) -> None:
    found = _one_problem(tmp_path, MINIMAL + f"    {key}: {value}\n")
    assert found.endswith(f"c.yaml:6: tier1[0].{key}: {problem}")
