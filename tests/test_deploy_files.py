"""The Docker image's build, checked against the project: no Docker engine runs here.

Its build stage makes tiercrawl's wheel, compiled modules included, from the
files it copies; a file the build reads and the stage left out fails the
build or, for one that pyproject.toml names (``LICENSE``), only warns.
"""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def stage_copies(dockerfile: str) -> dict[str, set[str]]:
    """The sources each stage's ``COPY`` instructions take, by stage name (or number)."""
    copies: dict[str, set[str]] = {}
    stage = ""
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stage = words[-1] if len(words) == 4 and words[2].upper() == "AS" else str(len(copies))
            copies[stage] = set()
        elif words[:1] == ["COPY"]:
            copies[stage].update(w for w in words[1:-1] if not w.startswith("--"))
    return copies


def test_stage_copies_reads_sources_per_stage() -> None:
    dockerfile = "FROM a AS build\nCOPY x y /src/\nFROM b\nCOPY --from=build /w /w\nCOPY z /z\n"
    assert stage_copies(dockerfile) == {"build": {"x", "y"}, "1": {"/w", "z"}}


def test_the_build_stage_copies_every_file_the_wheel_build_reads() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    copied = stage_copies(DOCKERFILE.read_text(encoding="utf-8"))["build"]
    assert {
        "pyproject.toml",
        "setup.py",  # the compiled modules
        "tiercrawl",
        project["readme"],
        *project["license-files"],
    } <= copied
    assert all((ROOT / source).exists() for source in copied)
