# Types for the compiled copy of extract.py (tiercrawl/core/compiled.py): the
# same code, with the context's offsets as C integers.
cimport cython


@cython.locals(lo=Py_ssize_t, hi=Py_ssize_t, room=Py_ssize_t, left=Py_ssize_t,
               right=Py_ssize_t, new_lo=Py_ssize_t, new_hi=Py_ssize_t, cut=Py_ssize_t)
cpdef str _context(str text, block, Py_ssize_t start, Py_ssize_t end, Py_ssize_t limit)


# Called once a link: C calls within the module, without Python's argument passing.
cpdef _link_facts(link, str text, str visible, Py_ssize_t position, str page_domain, regions,
                  Py_ssize_t context_chars)

cpdef str _fold_if_blanked(str part, str source, str text)
