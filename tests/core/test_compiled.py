"""The compiled copies of the plain modules: used while, and only while, built from the sources.

``scripts/test`` runs ``tests/core`` twice: with the copies, then with
``TIERCRAWL_COMPILED_COPIES=0``, so the sources themselves pass too.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from tiercrawl.core import compiled, extract, regions
from tiercrawl.core.compiled import (
    COPIES,
    DECLARATIONS,
    SOURCES,
    CompiledModules,
    built_from,
    compiled_copies,
    copies_enabled,
    installed_elsewhere,
)

SUFFIX = EXTENSION_SUFFIXES[0]
ROOT = Path(__file__).resolve().parents[2]


DECLARED = b"cdef int VALUE\n"  # extract.pxd of the fixture


@pytest.fixture
def built(tmp_path: Path) -> CompiledModules:
    """A package directory with ``extract.py`` and ``extract.pxd``, and a "copy" built from
    them; and the walk, which has no declarations."""
    sources, binaries = tmp_path / "core", tmp_path / "core" / "_compiled"
    binaries.mkdir(parents=True)
    (sources / DECLARATIONS["extract"]).write_bytes(DECLARED)
    for name, source in (("extract", b"VALUE = 1\n"), ("_walk", b"def walk(): pass\n")):
        (sources / SOURCES[name]).write_bytes(source)
        digest = built_from(name, lambda file: (sources / file).read_bytes())
        (binaries / f"{name}.sha256").write_text(digest + "\n")
        (binaries / f"{name}{SUFFIX}").write_bytes(b"")
    return CompiledModules(sources, [binaries], frozenset(SOURCES))


def test_the_hash_covers_the_source_then_the_declarations(built: CompiledModules) -> None:
    def read(file: str) -> bytes:
        return built.sources.joinpath(file).read_bytes()

    assert built_from("extract", read) == hashlib.sha256(b"VALUE = 1\n" + DECLARED).hexdigest()
    assert built_from("_walk", read) == hashlib.sha256(b"def walk(): pass\n").hexdigest()


@pytest.mark.parametrize("name", ["extract", "_walk"])
def test_a_module_built_from_its_source_is_found(built: CompiledModules, name: str) -> None:
    assert built.binary(name) == built.binaries[0] / f"{name}{SUFFIX}"
    spec = built.find_spec(f"tiercrawl.core.{name}")
    assert spec is not None
    assert spec.origin == str(built.binaries[0] / f"{name}{SUFFIX}")


def test_an_edited_walk_is_not_served(built: CompiledModules) -> None:
    (built.sources / "_walk.pyx").write_bytes(b"def walk(): return 1\n")
    assert built.find_spec("tiercrawl.core._walk") is None
    assert built.find_spec("tiercrawl.core.extract") is not None


@pytest.mark.parametrize("file", ["extract.py", "extract.pxd"])
def test_an_edited_source_is_imported_as_it_is(built: CompiledModules, file: str) -> None:
    (built.sources / file).write_bytes(b"VALUE = 2\n")
    assert built.binary("extract") is None
    assert built.find_spec("tiercrawl.core.extract") is None


@pytest.mark.parametrize(
    "damage",
    ["no hash", "no copy", "a copy for another Python", "no source", "no declarations"],
)
def test_no_copy_without_all_its_parts(built: CompiledModules, damage: str) -> None:
    binary = built.binaries[0] / f"extract{SUFFIX}"
    if damage == "no hash":
        (built.binaries[0] / "extract.sha256").unlink()
    elif damage == "no copy":
        binary.unlink()
    elif damage == "a copy for another Python":
        binary.rename(built.binaries[0] / "extract.cpython-39-x86_64-linux-gnu.so")
    elif damage == "no source":
        (built.sources / "extract.py").unlink()
    else:
        (built.sources / "extract.pxd").unlink()
    assert built.binary("extract") is None


def test_a_later_directory_serves_a_source_the_first_has_no_build_of(
    built: CompiledModules, tmp_path: Path
) -> None:
    stale, other = tmp_path / "stale", tmp_path / "other"
    for directory, source in ((stale, b"VALUE = 0\n"), (other, b"VALUE = 1\n")):
        directory.mkdir()
        (directory / "extract.sha256").write_text(hashlib.sha256(source + DECLARED).hexdigest())
        (directory / f"extract{SUFFIX}").write_bytes(b"")
    finder = CompiledModules(built.sources, [stale, tmp_path / "absent", other], built.names)
    assert finder.binary("extract") == other / f"extract{SUFFIX}"
    assert finder.binary("_walk") is None


def test_sources_in_a_zipped_egg_are_checked_against_binaries_on_disk(
    built: CompiledModules, tmp_path: Path
) -> None:
    egg = tmp_path / "tiercrawl.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        archive.writestr("tiercrawl/core/extract.py", b"VALUE = 1\n")
        archive.writestr("tiercrawl/core/extract.pxd", DECLARED)
        archive.writestr("tiercrawl/core/_walk.pyx", b"def walk(): return 2\n")
    sources = zipfile.Path(egg, at="tiercrawl/core/")
    finder = CompiledModules(sources, built.binaries, built.names)
    assert finder.binary("extract") == built.binaries[0] / f"extract{SUFFIX}"
    assert finder.binary("_walk") is None  # the egg's walk differs from the built one
    assert finder.binary("text") is None  # neither in the egg nor built


def test_the_compiled_modules_of_other_installations_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel installed in site-packages, an editable install of a checkout, and metadata
    no installer wrote (read past, not a failed import of the package)."""
    site, checkout = tmp_path / "site", tmp_path / "check out"
    for root in (site, checkout):
        (root / "tiercrawl" / "core" / "_compiled").mkdir(parents=True)
    for name, files in (("tiercrawl-8.0", site), ("tiercrawl-9.0", None)):
        info = site / f"{name}.dist-info"
        info.mkdir()
        version = name.split("-")[1]
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: tiercrawl\nVersion: {version}\n"
        )
        if files is None:
            direct = {"url": checkout.as_uri(), "dir_info": {"editable": True}}
            (info / "direct_url.json").write_text(json.dumps(direct))
    for garbage in ("{not json", '["a list"]', '{"dir_info": {"editable": true}}'):
        info = site / f"tiercrawl-7.{len(garbage)}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiercrawl\nVersion: 7\n")
        (info / "direct_url.json").write_text(garbage)
    monkeypatch.syspath_prepend(str(site))
    found = installed_elsewhere()
    assert found[:2] == [site / "tiercrawl/core/_compiled", checkout / "tiercrawl/core/_compiled"]


def test_only_the_listed_modules_of_the_package_have_copies(built: CompiledModules) -> None:
    assert built.find_spec("tiercrawl.core.scoring") is None
    assert built.find_spec("other.extract") is None
    assert built.find_spec("tiercrawl.extract") is None


def test_the_copies_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def installed() -> list[CompiledModules]:
        return [f for f in sys.meta_path if isinstance(f, CompiledModules)]

    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if f not in installed()])
    monkeypatch.setenv("TIERCRAWL_COMPILED_COPIES", "0")
    assert not copies_enabled()
    compiled.install()
    assert [finder.names for finder in installed()] == [frozenset({"_walk"})]
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if f not in installed()])
    monkeypatch.setenv("TIERCRAWL_COMPILED_COPIES", "1")
    compiled.install()
    compiled.install()
    assert [finder.names for finder in installed()] == [frozenset(SOURCES)]


def test_setup_rebuilds_when_a_compiled_source_changes() -> None:
    """scripts/setup compares these files' times with its stamp: each source must be there."""
    script = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    listed = next(line for line in script.splitlines() if line.startswith("compiled_sources="))
    files = ["compiled.py", *SOURCES.values(), *DECLARATIONS.values()]
    assert sorted(listed.split("=", 1)[1].strip('"').split()) == sorted(
        ["setup.py", *(f"tiercrawl/core/{file}" for file in files)]
    )


@pytest.mark.skipif(not copies_enabled(), reason="the sources' pass")
def test_this_build_runs_the_copies() -> None:
    """The build compiled every module: a build that lost one fails here, and so does a
    module edited since the build (it runs from source until `scripts/setup` builds again)."""
    assert compiled_copies() == list(COPIES), "stale or missing copies: run scripts/setup"
    assert extract.__file__ is not None
    assert extract.__file__.endswith(SUFFIX)


def test_this_build_serves_the_walk_compiled() -> None:
    """In both passes: the walk's Python twin is tested against it (tests/core/test_walk.py)."""
    from tiercrawl.core import _walk

    assert extract.COMPILED_WALK
    assert extract.walk is _walk.walk
    assert _walk.__file__ is not None
    assert Path(_walk.__file__).parent == Path(compiled.__file__).parent / "_compiled"


@pytest.mark.skipif(copies_enabled(), reason="the copies' pass")
def test_the_sources_pass_runs_the_sources() -> None:
    assert compiled_copies() == []
    assert extract.__file__ is not None
    assert extract.__file__.endswith(".py")


def test_classes_of_a_copy_pickle_as_themselves() -> None:
    block = regions.Block("p", None, "content", 25, 3, 9)
    again = pickle.loads(pickle.dumps(block))
    assert type(again) is regions.Block
    assert (again.tag, again.marker, again.weight, again.start, again.end) == (
        "p",
        "content",
        25,
        3,
        9,
    )
