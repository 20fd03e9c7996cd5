"""Pure logic: extraction, URL matching, indexability, scoring. No Scrapy, Twisted or pymongo."""
