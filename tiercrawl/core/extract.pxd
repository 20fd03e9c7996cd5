# Types for the compiled copy of extract.py (tiercrawl/core/compiled.py): the
# same code, with the context's offsets as C integers.
cimport cython


@cython.locals(lo=Py_ssize_t, hi=Py_ssize_t, room=Py_ssize_t, left=Py_ssize_t,
               right=Py_ssize_t, new_lo=Py_ssize_t, new_hi=Py_ssize_t, cut=Py_ssize_t)
cpdef str _context(str text, block, Py_ssize_t start, Py_ssize_t end, Py_ssize_t limit)
