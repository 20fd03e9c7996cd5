# Everything but the compiled modules is declared in pyproject.toml; scrapyd-deploy
# builds its egg with `setup.py bdist_egg`.
import glob
import hashlib
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The extraction's plain modules, also compiled as they are (tiercrawl/core/compiled.py,
# whose COPIES tests/core/test_compiled.py keeps equal to these).
COMPILED_COPIES = ("extract", "regions", "text", "urls")
# Everything the build compiles into tiercrawl/core/_compiled/, by module: its source.
COMPILED = {"_walk": "_walk.pyx", **{name: f"{name}.py" for name in COMPILED_COPIES}}


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
    for name in COMPILED_COPIES:
        copy = Extension(f"tiercrawl.core._compiled.{name}", [f"tiercrawl/core/{name}.py"])
        try:
            built += cythonize(
                [copy], compiler_directives=directives, build_dir="build/cython", quiet=True
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
    """Writes, beside each compiled module built, the SHA-256 of the source it was built from.

    Only for the modules this build made: one that failed to compile keeps its old
    hash, if any, so its old binary is never taken for the new source.
    """

    def run(self) -> None:
        self.compiled: list[str] = []
        # An in-place build (pip install -e) copies the modules there, and makes no directory.
        self.mkpath(os.path.dirname(self.get_ext_fullpath("tiercrawl.core._compiled._walk")))
        if self.inplace:
            # Built beside its source before it moved to _compiled/: stale from now on.
            for legacy in glob.glob("tiercrawl/core/_walk.*.so"):
                os.remove(legacy)
        super().run()
        for name in self.compiled:
            path = self.get_ext_fullpath(f"tiercrawl.core._compiled.{name}")
            with open(f"tiercrawl/core/{COMPILED[name]}", "rb") as source:
                digest = hashlib.sha256(source.read()).hexdigest()
            with open(os.path.join(os.path.dirname(path), f"{name}.sha256"), "w") as out:
                out.write(digest + "\n")

    def build_extension(self, ext: Extension) -> None:
        super().build_extension(ext)  # raises when it fails, even for an optional one
        self.compiled.append(ext.name.rpartition(".")[2])


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
