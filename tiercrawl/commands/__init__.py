"""Scrapy commands of the tiercrawl project (``COMMANDS_MODULE``)."""
