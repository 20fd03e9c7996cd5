"""The compiled modules of the extraction, used while their sources are unchanged.

The build (``setup.py``) compiles, with Cython, the tree walk
(``_walk.pyx``, see ``tiercrawl.core.walk``) and the plain modules that hold
most of the rest of a page's extraction: ``extract``, ``regions``, ``text``
and ``urls``, each as it is (their compiled copies). Each goes to
``tiercrawl/core/_compiled/``, beside the SHA-256 of the source it was built
from. `CompiledModules` imports a compiled module only while its source still
has that hash: an edited module is imported from its source (the walk: the
Python walk) until the next build (``scripts/setup``), never from a stale
binary. Without a C compiler, and in a Scrapyd egg, there are none, and the
sources run, with more CPU.

``TIERCRAWL_COMPILED_COPIES=0`` leaves the copies out (not the walk, whose
Python twin the tests run anyway): how the tests check the sources
themselves (``scripts/test``).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

__all__ = ["COPIES", "SOURCES", "CompiledModules", "compiled_copies", "copies_enabled", "install"]

COPIES = ("extract", "regions", "text", "urls")
# The compiled modules served, by name: the source each is built from.
SOURCES = {"_walk": "_walk.pyx", **{name: f"{name}.py" for name in COPIES}}
_PACKAGE = __name__.rpartition(".")[0]


class CompiledModules(MetaPathFinder):
    """Finds the compiled form of a module of `SOURCES`, if built from its present source.

    ``sources`` is the package's directory, ``binaries`` where the compiled modules
    are; ``names`` the modules served.
    """

    def __init__(self, sources: Path, binaries: Path, names: frozenset[str]) -> None:
        self.sources = sources
        self.binaries = binaries
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != _PACKAGE or name not in self.names:
            return None
        binary = self.binary(name)
        if binary is None:
            return None
        return spec_from_file_location(
            fullname, binary, loader=_CompiledLoader(fullname, str(binary))
        )

    def binary(self, name: str) -> Path | None:
        """The compiled module ``name`` built from its present source, or None."""
        try:
            built_from = (self.binaries / f"{name}.sha256").read_text(encoding="ascii").strip()
            source = (self.sources / SOURCES[name]).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(source).hexdigest() != built_from:
            return None
        # This interpreter's suffixes only: a copy built for another Python is none.
        for suffix in EXTENSION_SUFFIXES:
            binary = self.binaries / f"{name}{suffix}"
            if binary.is_file():
                return binary
        return None


class _CompiledLoader(ExtensionFileLoader):
    """Loads a compiled module, which also answers to the name it was built under, its
    classes' ``__module__`` (``tiercrawl.core._compiled.extract``): pickle and typing
    look classes up there."""

    def exec_module(self, module: ModuleType) -> None:
        built_as = f"{_PACKAGE}._compiled.{self.name.rpartition('.')[2]}"
        sys.modules[built_as] = module
        try:
            super().exec_module(module)
        except BaseException:
            del sys.modules[built_as]
            raise


def copies_enabled() -> bool:
    return os.environ.get("TIERCRAWL_COMPILED_COPIES", "1").strip() != "0"


def install() -> None:
    """Put a `CompiledModules` finder first on ``sys.meta_path``, once."""
    if any(isinstance(finder, CompiledModules) for finder in sys.meta_path):
        return
    here = Path(__file__).parent
    names = frozenset(SOURCES if copies_enabled() else ["_walk"])
    sys.meta_path.insert(0, CompiledModules(here, here / "_compiled", names))


def compiled_copies() -> list[str]:
    """The modules of `COPIES` imported so far that run compiled."""
    suffixes = tuple(EXTENSION_SUFFIXES)
    return [
        name
        for name in COPIES
        if str(getattr(sys.modules.get(f"{_PACKAGE}.{name}"), "__file__", "")).endswith(suffixes)
    ]
