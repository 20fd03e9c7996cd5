"""Compiled copies of the extraction's plain modules, used while their sources are unchanged.

``extract``, ``regions``, ``text`` and ``urls`` hold most of the CPU a page
costs tiercrawl beyond Scrapy's own. The build (``setup.py``) also compiles
each of them, as it is, with Cython into ``tiercrawl/core/_compiled/``,
beside the SHA-256 of the source it was built from. `CompiledCopies` imports
that copy in place of the module, but only while the module's source still
has that hash: an edited module is imported from its source until the next
build (``scripts/setup``), never from a stale copy. Without a C compiler, and
in a Scrapyd egg, there are no copies and the sources run, with more CPU.

``TIERCRAWL_COMPILED_COPIES=0`` leaves the copies out: how the tests check
the sources themselves (``scripts/test``).
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

__all__ = ["COPIES", "CompiledCopies", "compiled_copies", "copies_enabled", "install"]

COPIES = ("extract", "regions", "text", "urls")
_PACKAGE = __name__.rpartition(".")[0]


class CompiledCopies(MetaPathFinder):
    """Finds the compiled copy of a module of `COPIES`, if built from its present source.

    ``sources`` is the package's directory, ``binaries`` where the copies are.
    """

    def __init__(self, sources: Path, binaries: Path) -> None:
        self.sources = sources
        self.binaries = binaries

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != _PACKAGE or name not in COPIES:
            return None
        binary = self.binary(name)
        if binary is None:
            return None
        return spec_from_file_location(fullname, binary, loader=_CopyLoader(fullname, str(binary)))

    def binary(self, name: str) -> Path | None:
        """The compiled copy of module ``name`` built from its present source, or None."""
        try:
            built_from = (self.binaries / f"{name}.sha256").read_text(encoding="ascii").strip()
            source = (self.sources / f"{name}.py").read_bytes()
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


class _CopyLoader(ExtensionFileLoader):
    """Loads a copy, which also answers to the name it was built under, its classes' ``__module__``
    (``tiercrawl.core._compiled.extract``): pickle and typing look classes up there."""

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
    """Put a `CompiledCopies` finder first on ``sys.meta_path``, once, unless turned off."""
    if not copies_enabled() or any(isinstance(f, CompiledCopies) for f in sys.meta_path):
        return
    here = Path(__file__).parent
    sys.meta_path.insert(0, CompiledCopies(here, here / "_compiled"))


def compiled_copies() -> list[str]:
    """The modules of `COPIES` imported so far that run compiled."""
    suffixes = tuple(EXTENSION_SUFFIXES)
    return [
        name
        for name in COPIES
        if str(getattr(sys.modules.get(f"{_PACKAGE}.{name}"), "__file__", "")).endswith(suffixes)
    ]
