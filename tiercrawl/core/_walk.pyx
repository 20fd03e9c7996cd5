# cython: language_level=3, boundscheck=False, wraparound=False
"""``tiercrawl.core.walk.walk`` compiled: the same walk, over libxml2's own nodes.

The Python walk pays for an lxml proxy object, a dict of attributes and a
tuple per element, and for five scans of every text node. This one reads the
nodes and attributes in C, keeps the open elements' counts in a C stack, and
scans each text node once; Python objects are made only for what the walk
returns. The result must equal the Python walk's for every page
(``tests/core/test_walk.py``): every rule here has its twin there.
"""
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.ref cimport PyObject
from cpython.unicode cimport (
    Py_UNICODE_ISPRINTABLE,
    Py_UNICODE_ISSPACE,
    PyUnicode_DATA,
    PyUnicode_DecodeUTF8,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from libc.string cimport strcmp, strlen
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Element, import_lxml__etree

from tiercrawl.core.regions import MIN_PARAGRAPH, PARAGRAPHS, TAG_MARKERS, Block, marker_of
from tiercrawl.core.text import fold
from tiercrawl.core.urls import resolve_link
from tiercrawl.core.walk import BREAKS, LINK_TAGS, SKIP_SUBTREE, LinkSpan, Walk, is_hidden

import_lxml__etree()

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)

cdef tuple _NO_MARKER = (None, 0)
cdef Py_ssize_t _MIN_PARAGRAPH = MIN_PARAGRAPH

# Per tag name: what the walk does with it.
cdef enum:
    SKIP = 1
    PARAGRAPH = 2
    BREAK = 4
    LINK = 8
    IMG = 16
    TEMPLATE = 32

cdef dict _FLAGS = {}
for _tag in SKIP_SUBTREE | PARAGRAPHS | BREAKS | LINK_TAGS | {"img", "template"}:
    _FLAGS[_tag] = (
        (SKIP if _tag in SKIP_SUBTREE else 0)
        | (PARAGRAPH if _tag in PARAGRAPHS else 0)
        | (BREAK if _tag in BREAKS else 0)
        | (LINK if _tag in LINK_TAGS else 0)
        | (IMG if _tag == "img" else 0)
        | (TEMPLATE if _tag == "template" else 0)
    )


cdef struct Frame:
    PyObject* block      # borrowed: `blocks` holds it (NULL for a skipped element)
    int para             # index of the frame of the nearest paragraph block
    int flags
    bint hidden
    PyObject* link       # borrowed: `links` holds it; the open link, or NULL
    int link_frame       # the frame that opened `link`
    Py_ssize_t text, link_chars, own_text, own_link, commas, good


cdef struct Scan:
    bint lead           # the text starts with whitespace
    bint trail          # and ends with it
    Py_ssize_t words
    Py_ssize_t commas   # -1: not counted


cdef str _fold(str text, Scan* scan):
    """``text`` with its whitespace runs folded to one space and control characters out.

    Prose needs no folding (printable characters, single spaces): one pass
    tells, and counts its words and commas, where Python scans five times.
    """
    cdef Py_ssize_t n = len(text), i, first, last, spaces = 0, commas = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef const unsigned char* ascii = <const unsigned char*>data
    cdef Py_UCS4 c, previous = 0
    cdef bint simple = True
    cdef int unusual = 0
    if PyUnicode_IS_ASCII(text):
        # Most text: a byte a character. Loops without a branch, which the C compiler
        # runs on many characters at once: several times as fast as the one below,
        # which stops at the first oddity.
        for i in range(n):
            c = ascii[i]
            spaces += c == 32
            commas += c == 44
            unusual |= (c < 32) | (c == 127)
        for i in range(n - 1):
            unusual |= (ascii[i] == 32) & (ascii[i + 1] == 32)
        simple = not unusual
    else:
        for i in range(n):
            c = PyUnicode_READ(kind, data, i)
            if c == 32:
                if previous == 32:
                    simple = False
                    break
                spaces += 1
            elif c < 128:
                if c < 32 or c == 127:
                    simple = False
                    break
                if c == 44:
                    commas += 1
            elif not Py_UNICODE_ISPRINTABLE(c):
                simple = False
                break
            elif c == 0xFF0C or c == 0x3001:
                commas += 1
            previous = c
    scan.lead = Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, 0))
    scan.trail = Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, n - 1))
    if not simple:
        split = text.split()
        folded = " ".join(split)
        scan.words = len(split)
        scan.commas = -1
        if not folded.isprintable():
            folded = fold(folded)
            scan.words = folded.count(" ") + 1 if folded else 0
        return folded
    # Only single spaces: those at the ends go.
    first = 0
    while first < n and PyUnicode_READ(kind, data, first) == 32:
        first += 1
    if first == n:
        scan.words = 0
        return ""
    last = n
    while PyUnicode_READ(kind, data, last - 1) == 32:
        last -= 1
    scan.words = spaces - first - (n - last) + 1
    scan.commas = commas
    return text if first == 0 and last == n else text[first:last]


cdef inline str _utf8(const char* value):
    return PyUnicode_DecodeUTF8(value, strlen(value), NULL)


cdef inline tree.xmlNode* _text_or_skip(tree.xmlNode* node) noexcept:
    while node is not NULL:
        if node.type == tree.XML_TEXT_NODE or node.type == tree.XML_CDATA_SECTION_NODE:
            return node
        if node.type != tree.XML_XINCLUDE_START and node.type != tree.XML_XINCLUDE_END:
            return NULL
        node = node.next
    return NULL


cdef object _collect_text(tree.xmlNode* node):
    """lxml's ``.text``/``.tail``: the run of text nodes from ``node``, or None."""
    cdef tree.xmlNode* cur = _text_or_skip(node)
    cdef tree.xmlNode* first = cur
    cdef const char* found = NULL
    cdef int count = 0
    while cur is not NULL:
        if cur.content[0] != 0:
            found = <const char*>cur.content
        count += 1
        cur = _text_or_skip(cur.next)
    if found is NULL:
        return "" if count else None
    if count == 1:
        return _utf8(found)
    parts = []
    cur = first
    while cur is not NULL:
        parts.append(_utf8(<const char*>cur.content))
        cur = _text_or_skip(cur.next)
    return "".join(parts)


cdef str _name(const char* name, tree.xmlNs* ns):
    if ns is NULL or ns.href is NULL:
        return _utf8(name)
    return "{%s}%s" % (_utf8(<const char*>ns.href), _utf8(name))


cdef str _attr_value(tree.xmlAttr* attr):
    cdef tree.xmlNode* child = attr.children
    if child is NULL:
        return ""
    if child.next is NULL and child.content is not NULL:
        return _utf8(<const char*>child.content)
    parts = []
    while child is not NULL:
        if child.content is not NULL:
            parts.append(_utf8(<const char*>child.content))
        child = child.next
    return "".join(parts)


cdef dict _attributes(tree.xmlNode* node):
    attrs = {}
    cdef tree.xmlAttr* attr = node.properties
    while attr is not NULL:
        if attr.type == tree.XML_ATTRIBUTE_NODE:
            attrs[_name(<const char*>attr.name, attr.ns)] = _attr_value(attr)
        attr = attr.next
    return attrs


cdef inline tree.xmlNode* _next_element(tree.xmlNode* node) noexcept:
    while node is not NULL and node.type != tree.XML_ELEMENT_NODE:
        node = node.next
    return node


cdef class _Stack:
    cdef Frame* frames
    cdef int size
    cdef int capacity

    def __dealloc__(self):
        PyMem_Free(self.frames)

    cdef Frame* push(self) except NULL:
        cdef Frame* grown
        if self.size == self.capacity:
            self.capacity = self.capacity * 2 if self.capacity else 64
            grown = <Frame*>PyMem_Realloc(self.frames, self.capacity * sizeof(Frame))
            if grown is NULL:
                raise MemoryError()
            self.frames = grown
        self.size += 1
        return &self.frames[self.size - 1]


def walk(_Element root_element, str base_url):
    """Walk ``root_element``, the document element; links resolve against ``base_url``."""
    cdef list chunks = []
    cdef list blocks = []
    cdef list links = []
    cdef Py_ssize_t pos = 0, size, words = 0
    cdef bint space = True, entering = True, hidden
    cdef _Stack stack = _Stack()
    cdef Frame* frame
    cdef Frame* outer
    cdef Frame* para
    cdef tree.xmlNode* node = root_element._c_node
    cdef tree.xmlNode* child
    cdef tree.xmlAttr* attr
    cdef const char* name
    cdef int flags
    cdef str tag, folded
    cdef dict attrs
    cdef Scan scan
    top = Block("html", None)
    # Frame 0 stands for the top block, the root's parent.
    frame = stack.push()
    frame.block = <PyObject*>top
    frame.para = 0
    frame.flags = 0
    frame.hidden = False
    frame.link = NULL
    frame.link_frame = -1
    frame.text = frame.link_chars = frame.own_text = frame.own_link = frame.commas = frame.good = 0
    while True:
        if entering:
            tag = _name(<const char*>node.name, node.ns)
            flags = _FLAGS.get(tag, 0)
            frame = stack.push()
            outer = &stack.frames[stack.size - 2]  # after the push, which may move the frames
            frame[0] = outer[0]
            frame.flags = flags
            frame.text = frame.link_chars = frame.own_text = frame.own_link = frame.commas = frame.good = 0
            if flags & SKIP:
                frame.block = NULL
                frame.hidden = True
                entering = False
                continue
            hidden = frame.hidden or (flags & TEMPLATE) != 0
            role = id_ = class_ = alt = None
            attrs = None
            if node.properties is not NULL:
                if flags & LINK:
                    attrs = _attributes(node)
                    role = attrs.get("role")
                    id_ = attrs.get("id")
                    class_ = attrs.get("class")
                    if not hidden and ("hidden" in attrs or "aria-hidden" in attrs or "style" in attrs):
                        hidden = is_hidden(attrs)
                else:
                    attr = node.properties
                    while attr is not NULL:
                        if attr.type == tree.XML_ATTRIBUTE_NODE and attr.ns is NULL:
                            name = <const char*>attr.name
                            if strcmp(name, "class") == 0:
                                class_ = _attr_value(attr)
                            elif strcmp(name, "id") == 0:
                                id_ = _attr_value(attr)
                            elif strcmp(name, "role") == 0:
                                role = _attr_value(attr)
                            elif strcmp(name, "alt") == 0:
                                alt = _attr_value(attr)
                            elif not hidden and (
                                strcmp(name, "style") == 0
                                or strcmp(name, "hidden") == 0
                                or strcmp(name, "aria-hidden") == 0
                            ):
                                # Rare: the full check, on all the attributes.
                                hidden = is_hidden(_attributes(node))
                        attr = attr.next
            if role is not None or id_ is not None or class_ is not None:
                marker, weight = marker_of(tag, role, ((id_ or "") + " " + (class_ or "")).strip())
            else:
                marker, weight = TAG_MARKERS.get(tag, _NO_MARKER)
            frame.hidden = hidden
            block = Block(tag, <object>outer.block, marker, weight, pos)
            blocks.append(block)
            frame.block = <PyObject*>block
            if flags & PARAGRAPH:
                frame.para = stack.size - 1
            if not space and flags & BREAK:
                chunks.append(" ")
                pos += 1
                space = True
            if attrs is not None and "href" in attrs:
                href = attrs["href"]
                resolved = resolve_link(href, base_url)
                if resolved is not None:
                    link = LinkSpan(attrs, block, href, resolved[0], resolved[1], hidden, pos)
                    links.append(link)
                    frame.link = <PyObject*>link
                    frame.link_frame = stack.size - 1
            elif flags & IMG and frame.link is not NULL:
                (<object>frame.link).alts.append(alt or "")
            text_obj = _collect_text(node.children)
        else:
            frame = &stack.frames[stack.size - 1]
            outer = &stack.frames[stack.size - 2]
            if frame.block is not NULL:
                if not space and frame.flags & BREAK:
                    chunks.append(" ")
                    pos += 1
                    space = True
                block = <object>frame.block
                block.end = pos
                if frame.text:
                    block.text = frame.text
                    outer.text += frame.text
                if frame.link_chars:
                    block.link = frame.link_chars
                    outer.link_chars += frame.link_chars
                if frame.own_text:
                    block.own_text = frame.own_text
                if frame.own_link:
                    block.own_link = frame.own_link
                if frame.commas:
                    block.commas = frame.commas
                if frame.own_text >= _MIN_PARAGRAPH and frame.own_link < frame.own_text:
                    frame.good += frame.own_text
                if frame.good:
                    block.good = frame.good
                    outer.good += frame.good
                if frame.link is not NULL and frame.link_frame == stack.size - 1:
                    (<object>frame.link).end = pos
            stack.size -= 1
            if stack.size == 1:
                break
            text_obj = _collect_text(node.next)
        if text_obj:
            frame = &stack.frames[stack.size - 1]
            # Hidden text is left out, but for a hidden link's own text (its anchor).
            if not frame.hidden or (frame.link is not NULL and (<object>frame.link).hidden):
                folded = _fold(text_obj, &scan)
                if not folded:
                    if not space:
                        chunks.append(" ")
                        pos += 1
                        space = True
                else:
                    size = len(folded)
                    if not space and scan.lead:
                        chunks.append(" ")
                        pos += 1
                    chunks.append(folded)
                    pos += size
                    space = scan.trail
                    if space:
                        chunks.append(" ")
                        pos += 1
                    if not frame.hidden:
                        words += scan.words
                        para = &stack.frames[frame.para]
                        if frame.link is not NULL:
                            para.own_link += size
                            frame.link_chars += size
                        else:
                            para.own_text += size
                            if scan.commas < 0:
                                scan.commas = (
                                    folded.count(",") + folded.count("\uff0c") + folded.count("\u3001")
                                )
                            para.commas += scan.commas
                            frame.text += size
        if entering:
            child = _next_element(node.children)
            if child is not NULL:
                node = child
            else:
                entering = False
        else:
            child = _next_element(node.next)
            if child is not NULL:
                node = child
                entering = True
            else:
                node = node.parent
    frame = &stack.frames[0]
    top.end = pos
    top.text, top.link = frame.text, frame.link_chars
    top.own_text, top.own_link, top.commas = frame.own_text, frame.own_link, frame.commas
    top.good = frame.good
    return Walk("".join(chunks), words, blocks, links, top)
