# Everything but the compiled modules is declared in pyproject.toml; scrapyd-deploy
# builds its egg with `setup.py bdist_egg`.
import glob
import importlib.util
import os
import shutil
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _load_compiled():
    """tiercrawl/core/compiled.py alone (it needs the standard library only): what is
    compiled, from which files, and the hash that labels each build. Not the package,
    whose dependencies the build does not have."""
    spec = importlib.util.spec_from_file_location(
        "_compiled_modules", "tiercrawl/core/compiled.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compiled = _load_compiled()


def _read_core(file: str) -> bytes:
    with open(os.path.join("tiercrawl", "core", file), "rb") as source:
        return source.read()


def _stage_declarations() -> str:
    """A directory where Cython finds each copy's declarations (``regions.pxd``) under
    the copy's own module name, ``tiercrawl.core._compiled.regions``: it does not look
    beside the source of a module built under another name."""
    stage = os.path.join("build", "declarations")
    target = os.path.join(stage, "tiercrawl", "core", "_compiled")
    os.makedirs(target, exist_ok=True)
    for name in compiled.COPIES:
        staged = os.path.join(target, f"{name}.pxd")
        if name in compiled.DECLARATIONS:
            # copy2 keeps the time: Cython compiles again when the declarations are newer.
            shutil.copy2(os.path.join("tiercrawl", "core", compiled.DECLARATIONS[name]), staged)
        elif os.path.exists(staged):
            os.remove(staged)
    return stage


def extensions() -> list[Extension]:
    """The compiled modules, if Cython and lxml's headers are at hand (build requirements).

    Optional: without a C compiler the build goes on, and tiercrawl runs the
    same code in Python, with more CPU. Eggs (Scrapyd) go without them too: an
    extension module cannot be loaded from a zipped egg, and setuptools' loader
    stub for one fails.
    """
    if "bdist_egg" in sys.argv:
        return []
    try:
        import lxml
        from Cython.Build import cythonize
        from Cython.Compiler.Errors import CompileError
    except ImportError:
        return []
    # The walk reads libxml2's nodes through lxml's C headers.
    walk = Extension(
        "tiercrawl.core._compiled._walk",
        ["tiercrawl/core/_walk.pyx"],
        include_dirs=lxml.get_include(),
    )
    built = cythonize([walk], build_dir="build/cython", quiet=True)
    # Annotations stay hints, as in Python: Cython would otherwise check them at every call.
    directives = {"annotation_typing": False}
    declarations = _stage_declarations()
    for name in compiled.COPIES:
        copy = Extension(f"tiercrawl.core._compiled.{name}", [f"tiercrawl/core/{name}.py"])
        try:
            built += cythonize(
                [copy],
                compiler_directives=directives,
                build_dir="build/cython",
                include_path=[declarations],
                quiet=True,
            )
        except CompileError:
            # Python that Cython cannot compile yet: the module runs from its source, and
            # tests/core/test_compiled.py fails until it compiles again.
            print(f"setup.py: tiercrawl/core/{name}.py not compiled: see above", file=sys.stderr)
    for extension in built:
        # Set here: the extensions cythonize returns do not keep it. Without it, a
        # machine with no C compiler failed the whole install.
        extension.optional = True
    return built


class BuildExt(build_ext):
    """Writes, beside each compiled module built, the SHA-256 of the files it was built from.

    Only for the modules this build made: one that failed to compile keeps its old
    hash, if any, so its old binary is never taken for the new source.
    """

    def run(self) -> None:
        self.built: list[str] = []
        # An in-place build (pip install -e) copies the modules there, and makes no directory.
        self.mkpath(os.path.dirname(self.get_ext_fullpath("tiercrawl.core._compiled._walk")))
        if self.inplace:
            # Built beside its source before it moved to _compiled/: stale from now on.
            for legacy in glob.glob("tiercrawl/core/_walk.*.so"):
                os.remove(legacy)
        super().run()
        for name in self.built:
            path = self.get_ext_fullpath(f"tiercrawl.core._compiled.{name}")
            with open(os.path.join(os.path.dirname(path), f"{name}.sha256"), "w") as out:
                out.write(compiled.built_from(name, _read_core) + "\n")

    def build_extension(self, ext: Extension) -> None:
        super().build_extension(ext)  # raises when it fails, even for an optional one
        self.built.append(ext.name.rpartition(".")[2])


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
