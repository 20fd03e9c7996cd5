# Everything but the compiled walk is declared in pyproject.toml; scrapyd-deploy
# builds its egg with `setup.py bdist_egg`.
import sys

from setuptools import Extension, setup


def compiled_walk() -> list[Extension]:
    """tiercrawl.core._walk, if Cython and lxml's headers are at hand (build requirements).

    Optional: without a C compiler the build goes on, and tiercrawl uses the
    Python walk (tiercrawl.core.walk), slower but the same. Eggs (Scrapyd) go
    without it too: an extension module cannot be loaded from a zipped egg,
    and setuptools' loader stub for one fails.
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
    return cythonize([walk], quiet=True)


setup(ext_modules=compiled_walk())
