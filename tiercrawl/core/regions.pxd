# Types for the compiled copy of regions.py (tiercrawl/core/compiled.py): the
# same code, with Block a C type and the hot loops over C values.
cimport cython


cdef class Block:
    cdef public str tag
    cdef public Block parent
    cdef public object marker
    cdef public Py_ssize_t weight, start, end, text, link, own_text, own_link, commas, good
    cdef public double score


@cython.locals(block=Block, ancestor=Block, cand=Block, top=Block, sibling=Block, parent=Block,
               points=Py_ssize_t, share=double, weight=Py_ssize_t, threshold=double)
cpdef list find_content(blocks)

@cython.locals(block=Block)
cpdef bint _inside_article(Block block)

@cython.locals(block=Block)
cpdef bint _in_boilerplate(Block block)

cpdef _boilerplate_marker(Block block)

@cython.locals(node=Block)
cpdef Block _paragraph_of(Block block)

@cython.locals(node=Block)
cpdef Block context_block(Block block, Py_ssize_t length)


cdef class Regions:
    cdef set _content
    cdef Py_ssize_t _content_start
    cdef dict _chains

    @cython.locals(node=Block, pending=list, above=tuple)
    cpdef tuple _chain(self, Block block)

    @cython.locals(para=Block, in_content=bint, in_article=bint)
    cpdef str classify(self, Block block, bint has_text, bint in_page)
