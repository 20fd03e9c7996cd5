"""A generated, deterministic site of article-like pages, and the campaign that crawls it.

The pages imitate a blog article as tiercrawl meets it on the web: about 30 KB
of HTML and about 70 links spread over the header, the navigation, a sidebar,
the article itself, the comments and the footer, with internal, cross-site and
external links and the usual ``rel`` values. The articles are spread over
several loopback hosts (each its own "site" for Scrapy's per-domain slots and
for the registered-domain logic, which keeps an IP address whole); the money
pages that the tier-1 articles link to live on one more host.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Site", "corpus_site", "generate_site"]

ARTICLE_HOSTS = ("127.0.0.31", "127.0.0.32", "127.0.0.33", "127.0.0.34")
MONEY_HOST = "127.0.0.35"
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
# Money pages per 100 crawled pages: each is the target of about 100 tier-1 articles.
TARGETS_PER_100 = 1
_PARAGRAPHS = 48  # about 30 KB per page with the chrome below

_TEXT = (
    "drill battery torque chuck cordless brushless voltage clutch bit masonry wood steel "
    "review test power speed grip weight charger hammer impact driver screw anchor wall "
    "project workshop garage kit case warranty price value budget premium compact heavy "
    "duty runtime cell lithium amp hour trigger light belt clip handle motor gear setting "
    "the a of and to in for with on that this is it as at by from or be are was were has "
    "have more most very well when which while after before about over under between"
)
_WORDS = _TEXT.split()
_SECTIONS = ("tools", "reviews", "guides", "news", "deals", "workshop", "garden", "home")
_EXTERNAL = ("news.example.com", "wiki.example.org", "shop.example.net", "forum.example.io")


@dataclass(frozen=True)
class Site:
    """Where the generated site lives and what to crawl on it."""

    root: Path  # one document root per host: root / HOST / ...
    port: int
    articles: list[str]  # tier-1 URLs, hosts interleaved
    targets: list[str]  # money pages, crawled as tier 0
    campaign: Path  # the campaign YAML (contract §1)
    urls: Path  # every URL to crawl, one a line, in the campaign's crawl order
    html_bytes: int  # of all pages
    kind: str = "generated"  # or "corpus": real pages (`corpus_site`)

    @property
    def hosts(self) -> tuple[str, ...]:
        return (*ARTICLE_HOSTS, MONEY_HOST)

    @property
    def pages(self) -> int:
        return len(self.articles) + len(self.targets)


class _Writer:
    """Builds pages from one seeded generator, so the same arguments give the same bytes."""

    def __init__(self, seed: int, port: int) -> None:
        self.rng = random.Random(seed)
        self.port = port

    def base(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choices(_WORDS, k=self.rng.randint(low, high)))

    def sentence(self) -> str:
        return self.words(9, 22).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 6)))

    def link(self, href: str, text: str, rel: str | None = None) -> str:
        attr = f' rel="{rel}"' if rel else ""
        return f'<a href="{href}"{attr}>{text}</a>'

    def some_page(self, hosts: list[str], count: int) -> str:
        """An absolute URL of one of the generated pages (not necessarily crawled)."""
        host = self.rng.choice(hosts)
        return f"{self.base(host)}/{self.rng.choice(_SECTIONS)}/{self.rng.randrange(count)}.html"

    def external(self) -> str:
        host = self.rng.choice(_EXTERNAL)
        return f"https://{host}/{self.rng.choice(_SECTIONS)}/{self.rng.randrange(10_000)}"

    def page(self, host: str, title: str, target: tuple[str, str] | None, count: int) -> str:
        """One article: header (6 links), nav (14), article (~16), sidebar (12),
        comments (~8) and footer (15), about 70 links in all."""
        r = self.rng
        hosts = list(ARTICLE_HOSTS)
        header = " ".join(
            [self.link("/", '<img src="/logo.png" alt="Home">')]
            + [self.link(f"/{s}/", s.title()) for s in _SECTIONS[:4]]
            + [self.link("/account/login", "Sign in", "nofollow")]
        )
        nav = "".join(
            f"<li>{self.link(f'/{s}/{r.randrange(count)}.html', self.words(1, 3))}</li>"
            for s in (_SECTIONS * 2)[:14]
        )
        body: list[str] = []
        for number in range(_PARAGRAPHS):
            text = self.paragraph()
            if number % 3 == 1:
                if r.random() < 0.5:
                    extra = self.link(self.some_page(hosts, count), self.words(2, 4))
                else:
                    extra = self.link(
                        self.external(), self.words(2, 4), r.choice(("", "nofollow"))
                    )
                text = f"{text} See {extra} for more. {self.sentence()}"
            if number == 3 and target is not None:
                url, anchor = target
                text = f"{text} Our pick: {self.link(url, anchor)}. {self.sentence()}"
            if number % 6 == 5:
                body.append(f"<h2>{self.words(3, 7).capitalize()}</h2>")
            body.append(f"<p>{text}</p>")
        body.append(f"<p>{self.link(self.external(), 'Partner offer', 'sponsored')}</p>")
        sidebar = "".join(
            f"<li>{self.link(self.some_page(hosts, count), self.words(2, 6))}</li>"
            for _ in range(12)
        )
        comments = "".join(
            f'<li class="comment"><p class="author">'
            f"{self.link(self.external(), self.words(1, 2).title(), 'ugc nofollow')}</p>"
            f"<p>{self.sentence()} {self.sentence()}</p></li>"
            for _ in range(r.randint(6, 10))
        )
        footer = "".join(
            f"<li>{self.link(f'/{page}', page.replace('-', ' ').title())}</li>"
            for page in (
                "about", "contact", "privacy", "terms", "cookies", "imprint", "careers",
                "press", "advertise", "newsletter", "rss.xml", "sitemap.xml", "help",
                "accessibility", "authors",
            )
        )  # fmt: skip
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title>"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="/site.css"></head><body>\n'
            f'<header class="site-header">{header}</header>\n'
            f'<nav class="main-menu"><ul>{nav}</ul></nav>\n'
            f'<div class="wrap"><main><article class="post"><h1>{title}</h1>'
            f'<p class="byline">By {self.words(2, 2).title()}</p>\n'
            + "\n".join(body)
            + f'</article>\n<section id="comments" class="comments"><h3>Comments</h3>'
            f"<ol>{comments}</ol></section></main>\n"
            f'<aside class="sidebar"><h3>Popular</h3><ul>{sidebar}</ul></aside></div>\n'
            f'<footer class="site-footer"><ul>{footer}</ul></footer>\n</body></html>\n'
        )


def generate_site(directory: Path, pages: int, port: int, seed: int = 2) -> Site:
    """Write ``pages`` crawlable pages (articles and money pages), robots.txt files,
    the campaign and the URL list under ``directory``."""
    writer = _Writer(seed, port)
    root = directory / "site"
    target_count = max(1, pages * TARGETS_PER_100 // 100)
    article_count = pages - target_count
    targets = [f"{writer.base(MONEY_HOST)}/products/{n}.html" for n in range(target_count)]
    anchors = [writer.words(2, 3) for _ in targets]
    articles: list[str] = []
    tier1: list[dict[str, str]] = []
    for host in (*ARTICLE_HOSTS, MONEY_HOST):
        (root / host).mkdir(parents=True, exist_ok=True)
        (root / host / "robots.txt").write_text(ROBOTS_TXT, encoding="utf-8")
    for n in range(article_count):
        host = ARTICLE_HOSTS[n % len(ARTICLE_HOSTS)]
        path = f"/{_SECTIONS[n % len(_SECTIONS)]}/{n}.html"
        target = n % target_count
        html = writer.page(
            host, writer.words(4, 9).title(), (targets[target], anchors[target]), pages
        )
        _write(root / host / path.lstrip("/"), html)
        url = writer.base(host) + path
        articles.append(url)
        tier1.append({"url": url, "target": targets[target]})
    for n in range(target_count):
        title = f"Product {n}: {anchors[n].title()}"
        _write(
            root / MONEY_HOST / f"products/{n}.html", writer.page(MONEY_HOST, title, None, pages)
        )
    campaign = directory / "bench-campaign.yaml"
    document = {"name": "crawl-bench", "money_site": writer.base(MONEY_HOST) + "/", "tier1": tier1}
    campaign.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    urls = directory / "urls.txt"
    urls.write_text("".join(f"{url}\n" for url in (*articles, *targets)), encoding="utf-8")
    html_bytes = sum(path.stat().st_size for path in root.rglob("*.html"))
    return Site(root, port, articles, targets, campaign, urls, html_bytes)


def corpus_site(directory: Path, corpus: Path, copies: int, port: int) -> Site:
    """The real pages of a labelled corpus (``placement-dev``), ``copies`` of each, as the
    tier-1 pages of one money page, spread over the article hosts like a generated site.

    Each copy gets a link to the money page before its ``</body>``: in ``auto`` mode a
    page without its expected link is rendered, and the crawl would measure Chromium.
    """
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    root = directory / "site"
    for host in (*ARTICLE_HOSTS, MONEY_HOST):
        (root / host).mkdir(parents=True, exist_ok=True)
        (root / host / "robots.txt").write_text(ROBOTS_TXT, encoding="utf-8")
    money = f"http://{MONEY_HOST}:{port}/products/0.html"
    _write(root / MONEY_HOST / "products/0.html", "<html><body><p>Product 0</p></body></html>")
    link = f'<p><a href="{money}">our product</a></p>'.encode()
    articles: list[str] = []
    for copy in range(copies):
        for name in sorted(labels):
            html = gzip.decompress((corpus / "pages" / name).read_bytes())
            end = html.lower().rfind(b"</body>")
            html = html[:end] + link + html[end:] if end >= 0 else html + link
            host = ARTICLE_HOSTS[len(articles) % len(ARTICLE_HOSTS)]
            path = f"real/{copy}/{name.removesuffix('.gz')}"
            (root / host / path).parent.mkdir(parents=True, exist_ok=True)
            (root / host / path).write_bytes(html)
            articles.append(f"http://{host}:{port}/{path}")
    campaign = directory / "corpus-campaign.yaml"
    tier1 = [{"url": url, "target": money} for url in articles]
    document = {"name": "crawl-bench-corpus", "money_site": f"http://{MONEY_HOST}:{port}/"}
    campaign.write_text(yaml.safe_dump({**document, "tier1": tier1}), encoding="utf-8")
    urls = directory / "urls.txt"
    urls.write_text("".join(f"{url}\n" for url in (*articles, money)), encoding="utf-8")
    html_bytes = sum(path.stat().st_size for path in root.rglob("*.html"))
    return Site(root, port, articles, [money], campaign, urls, html_bytes, kind="corpus")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
