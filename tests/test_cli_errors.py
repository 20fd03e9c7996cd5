"""Bad input to the commands: a message naming the problem and a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_diff_job import CAMPAIGN, add_run, mongo_uri_of, put
from tiercrawl.cli import main
from tiercrawl.store import Store

# Nothing listens there: a command that got as far as connecting would fail differently.
UNUSED_STORE = "mongodb://127.0.0.1:9/unused"


@pytest.fixture
def diffable(store: Store) -> str:
    """A store holding two runs of ``CAMPAIGN`` with one change between them; its URI."""
    add_run(store, "a", 1)
    add_run(store, "b", 2)
    put(store, "a", {"p1": "live"})
    put(store, "b", {"p1": "missing"})
    return mongo_uri_of(store)


def test_diff_output_goes_where_report_output_goes(
    diffable: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", "new/dir/diff.txt"]) == 4
    assert (tmp_path / "new/dir/diff.txt").read_text(encoding="utf-8").startswith("jobs: a -> b")
    capsys.readouterr()

    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", "-"]) == 4
    assert capsys.readouterr().out.startswith("jobs: a -> b")
    assert not (tmp_path / "-").exists()

    (tmp_path / "a-file").write_text("", encoding="utf-8")
    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", "a-file/diff.txt"]) == 1
    assert capsys.readouterr().err == (
        "tiercrawl diff: a-file/diff.txt: cannot write the diff: a-file is not a directory\n"
    )
    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", "a-file/deeper/diff.txt"]) == 1
    assert "a-file is not a directory" in capsys.readouterr().err
    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", "new"]) == 1
    assert capsys.readouterr().err == (
        "tiercrawl diff: new: cannot write the diff: new is a directory\n"
    )


def test_a_failed_write_leaves_the_previous_output_as_it_was(
    diffable: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "diff.txt"
    previous.write_text("last week's diff", encoding="utf-8")
    # What the new one is written into first cannot be: as when the disk is full.
    (tmp_path / ".diff.txt.partial").mkdir()
    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", str(previous)]) == 1
    assert "cannot write the diff" in capsys.readouterr().err
    assert previous.read_text(encoding="utf-8") == "last week's diff"
    (tmp_path / ".diff.txt.partial").rmdir()
    assert main(["diff", CAMPAIGN, "--mongo-uri", diffable, "-o", str(previous)]) == 4
    assert previous.read_text(encoding="utf-8").startswith("jobs: a -> b")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["diff.txt"]


def test_output_a_terminal_cannot_encode_is_escaped(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('<p><a href="/caf\u00e9">caf\u00e9 \u7a7a</a></p>', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tiercrawl.cli", "extract", str(page), "--url", "http://x.test/"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "ascii"},
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b'"anchor_text": "caf\\xe9 \\u7a7a"' in result.stdout


@pytest.mark.parametrize(
    "command",
    [["diff", CAMPAIGN], ["history", CAMPAIGN], ["report", CAMPAIGN], ["demo"]],
    ids=["diff", "history", "report", "demo"],
)
def test_an_empty_output_path_is_a_usage_error(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--mongo-uri", UNUSED_STORE, "-o", ""])
    assert exited.value.code == 2
    assert "argument -o/--output: an empty path" in capsys.readouterr().err


PORT_99999 = "not a valid http(s) URL: the port '99999' is not a number from 1 to 65535"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("notaurl", "not an http(s) URL"),
        ("file:///tmp/x", "not an http(s) URL"),
        ("data:,hello", "not an http(s) URL"),
        ("ftp://127.0.0.1/", "not an http(s) URL"),
        ("http:///hook", "not an http(s) URL"),
        (
            "http://127.0.0.1:abc/",
            "not a valid http(s) URL: the port 'abc' is not a number from 1 to 65535",
        ),
        ("http://127.0.0.1:99999/", PORT_99999),
        ("http://[::1/", "not an http(s) URL"),
    ],
)
def test_a_bad_webhook_is_refused_before_the_diff(
    url: str, problem: str, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    # The store has no run: had the diff started, it would fail with another message.
    assert main(["diff", CAMPAIGN, "--mongo-uri", mongo_uri_of(store), "--webhook", url]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"tiercrawl diff: --webhook {url}: {problem}\n"
    assert captured.out == ""


def test_a_webhook_with_credentials_is_refused_and_they_are_not_shown(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    # urllib would send "bob:hunter2@127.0.0.1" to the resolver as a host name.
    url = "http://bob:hunter2@127.0.0.1:1/hook"
    assert main(["diff", CAMPAIGN, "--mongo-uri", mongo_uri_of(store), "--webhook", url]) == 2
    assert capsys.readouterr().err == (
        "tiercrawl diff: --webhook http://***@127.0.0.1:1/hook: user:password@ is not "
        "supported, put the receiver's token in the path or query\n"
    )


def test_binary_weights_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = tmp_path / "weights.json"
    weights.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert main(["score", CAMPAIGN, "--mongo-uri", UNUSED_STORE, "--weights", str(weights)]) == 1
    assert capsys.readouterr().err == (
        f"tiercrawl score: {weights}: cannot read weights: not UTF-8 text\n"
    )


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        ("http://127.0.0.1:99999/", PORT_99999),
        ("http://[::1/", "not an http(s) URL"),
        ("127.0.0.1:6800", "not an http(s) URL"),
    ],
)
def test_a_bad_node_is_a_usage_error(
    node: str, problem: str, mongo_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "http://127.0.0.1:6800/"
    for command in (["schedule", CAMPAIGN], ["status"]):
        code = main([*command, "--node", good, "--node", node, "--mongo-uri", mongo_uri])
        assert code == 2
        assert capsys.readouterr().err == (
            f"tiercrawl {command[0]}: --node {node}: {problem}: "
            "a Scrapyd node is an http(s) URL, e.g. http://host:6800/\n"
        )
    assert (
        main(
            ["schedule", CAMPAIGN, "--node", good, "--node", good + "/", "--mongo-uri", mongo_uri]
        )
        == 2
    )
    assert "given twice" in capsys.readouterr().err


def test_a_node_password_is_not_shown_when_its_url_is_bad(
    capsys: pytest.CaptureFixture[str],
) -> None:
    node = "http://ops:s3cret@127.0.0.1:0/"
    assert main(["schedule", CAMPAIGN, "--node", node, "--mongo-uri", UNUSED_STORE]) == 2
    err = capsys.readouterr().err
    assert "s3cret" not in err
    assert "--node http://***@127.0.0.1:0/: not a valid http(s) URL: the port '0'" in err


def test_schedule_refuses_bad_setting_values_before_any_node_or_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No node listens at that address, nor a store at UNUSED_STORE: nothing is reached.
    settings = ["-s", "RETRY_TIMES=-1", "-s", "TIERCRAWL_PROXY=socks5://ops:s3cret@h:1", "-s", "x"]
    node = "http://127.0.0.1:6800/"
    assert (
        main(["schedule", CAMPAIGN, "--node", node, *settings, "--mongo-uri", UNUSED_STORE]) == 2
    )
    assert capsys.readouterr().err.splitlines() == [
        "tiercrawl schedule: -s x: expected NAME=VALUE",
        "tiercrawl schedule: setting RETRY_TIMES=-1: expected a whole number, 0 or more",
        (
            "tiercrawl schedule: setting TIERCRAWL_PROXY=socks5://***@h:1: expected a proxy "
            "URL such as http://user:password@host:port (http or https; Scrapy speaks to no "
            "other proxies)"
        ),
    ]


@pytest.mark.parametrize("home", ["a-file", "a-file/below", "/proc/no-such-dir"])
def test_an_unusable_tiercrawl_home_is_named(
    home: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIERCRAWL_HOME", home)
    monkeypatch.delenv("TIERCRAWL_MONGO_URI", raising=False)
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tiercrawl status: TIERCRAWL_HOME: cannot keep the embedded store in ")
    assert "a-file is not a directory" in err or "No such file or directory" in err


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    links = "".join(f'<p><a href="/p{i}">post {i}</a></p>' for i in range(5000))
    page.write_text(f"<html><body>{links}</body></html>", encoding="utf-8")
    extract = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tiercrawl.cli",
            "extract",
            str(page),
            "--url",
            "http://127.0.0.1/",
        ],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = extract.stdout, extract.stderr
    assert stdout is not None
    assert stderr is not None
    assert stdout.readline().startswith(b'{"source_url"')
    stdout.close()  # as `| head -1` does
    with stderr:
        assert extract.wait(timeout=60) == 141
        assert stderr.read() == b""


@pytest.mark.parametrize(
    ("uri", "shown", "reason"),
    [
        ("mongodb://u:p@ss@127.0.0.1:1/", "mongodb://***@127.0.0.1:1/", "must be escaped"),
        ("http://127.0.0.1:1/", "'http://127.0.0.1:1/'", "expected mongodb://HOST[:PORT]/DB"),
        ("mongodb://127.0.0.1:1/a$b", "mongodb://127.0.0.1:1/a$b", "Bad database name"),
        ("mongodb://127.0.0.1:1/a%5Cb", "mongodb://127.0.0.1:1/a%5Cb", "database names cannot"),
        ("mongodb://127.0.0.1:99999/", "mongodb://127.0.0.1:99999/", "Port must be"),
        # pymongo took these for a host name, and only warned of these options, ignoring them.
        ("notauri", "'notauri'", "expected mongodb://HOST[:PORT]/DB"),
        (" ", "' '", "expected mongodb://HOST[:PORT]/DB"),
        (
            "mongodb://127.0.0.1:1/?bogusOpt=1",
            "mongodb://127.0.0.1:1/?bogusOpt=1",
            "Unknown option",
        ),
        (
            "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=abc",
            "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=abc",
            "must be an integer or float",
        ),
    ],
)
def test_a_malformed_mongodb_uri_is_reported_as_such(
    uri: str, shown: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--mongo-uri", uri]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tiercrawl status: invalid MongoDB URI {shown}: "), err
    assert reason in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["extract", "page.html", "--url", "http://127.0.0.1/", "--context-chars", "-5"],
            "argument --context-chars: must be 0 or more, not -5",
        ),
        (
            ["extract", "page.html", "--url", "http://127.0.0.1/", "--context-chars", "x"],
            "argument --context-chars: not a whole number: 'x'",
        ),
        (["status", "--wait", "-1"], "argument --wait: must be 0 or more, not -1"),
        (["status", "--wait", "nan"], "argument --wait: must be 0 or more, not nan"),
    ],
)
def test_negative_numbers_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_diff_of_a_run_with_itself_is_refused(
    diffable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", CAMPAIGN, "--from", "b", "--to", "b", "--mongo-uri", diffable]) == 2
    assert capsys.readouterr().err == (
        "tiercrawl diff: --from and --to are the same run, b: nothing to compare\n"
    )


def test_the_demo_names_an_unusable_tiercrawl_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("TIERCRAWL_HOME", str(tmp_path / "a-file"))
    assert main(["demo"]) == 1
    assert capsys.readouterr().err == (
        f"tiercrawl demo: {tmp_path}/a-file/demo: cannot create the demo directory: "
        f"{tmp_path}/a-file is not a directory\n"
    )
