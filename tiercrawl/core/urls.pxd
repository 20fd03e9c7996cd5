# Types for the compiled copy of urls.py (tiercrawl/core/compiled.py): the
# same code, with a link's characters read as C values.
cimport cython


@cython.locals(first=Py_UCS4, info=tuple, origin=str, directory=str, prefix=str, domain=str,
               path=str, segments=list, host=str)
cpdef tuple resolve_link(str href, str base)
