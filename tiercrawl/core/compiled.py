"""The compiled modules of the extraction, used while their sources are unchanged.

The build (``setup.py``) compiles, with Cython, the tree walk
(``_walk.pyx``, see ``tiercrawl.core.walk``) and the plain modules that hold
most of the rest of a page's extraction: ``extract``, ``regions``, ``text``
and ``urls``, each as it is (their compiled copies). A copy may have
declarations beside its source (``regions.pxd``: Cython's C types for its
classes and hot functions, the Python code unchanged). Each goes to
``tiercrawl/core/_compiled/``, beside the SHA-256 of the source (and
declarations) it was built from. `CompiledModules` imports a compiled module
only while its files still have that hash: an edited module is imported from
its source (the walk: the Python walk) until the next build
(``scripts/setup``), never from a stale binary. Without a C compiler there are
none, and the sources run, with more CPU.

A Scrapyd egg holds no binaries either (Python loads none from a zip), but it
shadows a tiercrawl installed on the node, whose ``_compiled/`` may have them:
where the package has no ``_compiled/`` of its own, the finder also looks in
the other installations' (`installed_elsewhere`). The hash guard is the same,
so a binary serves only a source identical to the one it was built from.

``TIERCRAWL_COMPILED_COPIES=0`` leaves the copies out (not the walk, whose
Python twin the tests run anyway): how the tests check the sources
themselves (``scripts/test``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "COPIES",
    "DECLARATIONS",
    "SOURCES",
    "CompiledModules",
    "built_from",
    "compiled_copies",
    "copies_enabled",
    "install",
    "installed_elsewhere",
]

COPIES = ("extract", "regions", "text", "urls")
# The compiled modules served, by name: the source each is built from.
SOURCES = {"_walk": "_walk.pyx", **{name: f"{name}.py" for name in COPIES}}
# Cython's declarations for a copy (an "augmenting" .pxd: C types for its classes and
# hot functions, the Python code unchanged), part of what the copy is built from.
DECLARATIONS = {name: f"{name}.pxd" for name in ("extract", "regions", "urls")}
_PACKAGE = __name__.rpartition(".")[0]


class CompiledModules(MetaPathFinder):
    """Finds the compiled form of a module of `SOURCES`, if built from its present source.

    ``sources`` is the package's directory (in a zip, for an egg), ``binaries``
    the directories of compiled modules, searched in order; ``names`` the modules served.
    """

    def __init__(
        self, sources: Traversable, binaries: Sequence[Path], names: frozenset[str]
    ) -> None:
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
        """The compiled module ``name`` built from its present source (and declarations), or None."""
        try:
            digest = built_from(name, lambda file: self.sources.joinpath(file).read_bytes())
        except OSError:
            return None
        for directory in self.binaries:
            try:
                label = (directory / f"{name}.sha256").read_text(encoding="ascii").strip()
            except OSError:
                continue
            if label != digest:
                continue
            # This interpreter's suffixes only: a copy built for another Python is none.
            for suffix in EXTENSION_SUFFIXES:
                binary = directory / f"{name}{suffix}"
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


def built_from(name: str, read: Callable[[str], bytes]) -> str:
    """The SHA-256 of what the compiled module ``name`` is built from, its files read
    by ``read`` (a name in the package's ``core`` directory): its source, then its
    declarations, if it has any. Also how ``setup.py`` labels each module it builds."""
    digest = hashlib.sha256(read(SOURCES[name]))
    if name in DECLARATIONS:
        digest.update(read(DECLARATIONS[name]))
    return digest.hexdigest()


def copies_enabled() -> bool:
    return os.environ.get("TIERCRAWL_COMPILED_COPIES", "1").strip() != "0"


def install() -> None:
    """Put a `CompiledModules` finder first on ``sys.meta_path``, once."""
    if any(isinstance(finder, CompiledModules) for finder in sys.meta_path):
        return
    own = Path(__file__).parent / "_compiled"
    binaries = [own] if own.is_dir() else installed_elsewhere()
    names = frozenset(SOURCES if copies_enabled() else ["_walk"])
    sys.meta_path.insert(0, CompiledModules(resources.files(_PACKAGE), binaries, names))


def installed_elsewhere() -> list[Path]:
    """The ``_compiled/`` directories of the tiercrawl distributions installed here.

    Found from their metadata: where the files are, or for an editable install
    the checkout its ``direct_url.json`` names (PEP 610).
    """
    # Here, not at the top: only a package without binaries of its own gets this far, and
    # importlib.metadata takes 25 to 45 ms to import, at every start of every command.
    from importlib import metadata

    found: list[Path] = []
    for dist in metadata.distributions(name="tiercrawl"):
        roots = [Path(str(dist.locate_file("")))]
        checkout = _editable_checkout(dist.read_text("direct_url.json"))
        if checkout is not None:
            roots.append(checkout)
        for root in roots:
            # resolve(): a distribution found on sys.path's "" (the current directory)
            # locates its files relative to it.
            directory = (root / _PACKAGE.replace(".", "/") / "_compiled").resolve()
            if directory.is_dir() and directory not in found:
                found.append(directory)
    return found


def _editable_checkout(direct_url: str | None) -> Path | None:
    """The directory an editable install's ``direct_url.json`` names, if it names one."""
    try:
        direct: Any = json.loads(direct_url or "{}")
        editable = direct["dir_info"]["editable"] is True
        url = urlsplit(direct["url"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # not editable, or metadata no tool wrote: nothing to find there
    return Path(unquote(url.path)) if editable and url.scheme == "file" else None


def compiled_copies() -> list[str]:
    """The modules of `COPIES` imported so far that run compiled."""
    suffixes = tuple(EXTENSION_SUFFIXES)
    return [
        name
        for name in COPIES
        if str(getattr(sys.modules.get(f"{_PACKAGE}.{name}"), "__file__", "")).endswith(suffixes)
    ]
