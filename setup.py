# Everything but the compiled modules is declared in pyproject.toml; scrapyd-deploy
# builds its egg with `setup.py bdist_egg`.
import hashlib
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# The extraction's plain modules, also compiled as they are: tiercrawl/core/compiled.py
# (its COPIES, which tests/core/test_compiled.py keeps equal to these).
COMPILED_COPIES = ("extract", "regions", "text", "urls")


def extensions() -> list[Extension]:
    """The compiled walk and the compiled copies, if Cython and lxml's headers are at hand.

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
    except ImportError:
        return []
    walk = Extension(
        "tiercrawl.core._walk",
        ["tiercrawl/core/_walk.pyx"],
        include_dirs=lxml.get_include(),
        optional=True,
    )
    copies = [
        Extension(f"tiercrawl.core._compiled.{name}", [f"tiercrawl/core/{name}.py"], optional=True)
        for name in COMPILED_COPIES
    ]
    # Annotations stay hints, as in Python: Cython would otherwise check them at every call.
    directives = {"annotation_typing": False}
    return cythonize(
        [walk, *copies], compiler_directives=directives, build_dir="build/cython", quiet=True
    )


class BuildExt(build_ext):
    """Writes, beside each compiled copy, the SHA-256 of the source it was built from."""

    def run(self) -> None:
        built = {
            name: self.get_ext_fullpath(f"tiercrawl.core._compiled.{name}")
            for name in COMPILED_COPIES
        }
        # An in-place build (pip install -e) copies the modules there, and makes no directory.
        for path in built.values():
            self.mkpath(os.path.dirname(path))
        super().run()
        for name, path in built.items():
            if os.path.exists(path):
                with open(f"tiercrawl/core/{name}.py", "rb") as source:
                    digest = hashlib.sha256(source.read()).hexdigest()
                with open(os.path.join(os.path.dirname(path), f"{name}.sha256"), "w") as out:
                    out.write(digest + "\n")


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
