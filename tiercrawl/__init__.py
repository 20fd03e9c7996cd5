"""tiercrawl: crawl, verify and score tiered backlink campaigns."""

__version__ = "0.1.0"
