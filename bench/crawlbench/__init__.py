"""Helpers of ``bench/crawl_bench.py``: the generated site, nginx, the contenders, measuring."""
