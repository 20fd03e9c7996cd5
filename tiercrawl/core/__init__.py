"""Pure logic: extraction, URL matching, indexability, scoring. No Scrapy, Twisted or pymongo."""

from tiercrawl.core.compiled import install

# Before any module of this package is imported: some run compiled (tiercrawl.core.compiled).
install()
