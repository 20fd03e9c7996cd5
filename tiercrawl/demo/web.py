"""The demo web: a money site, two blogs, a forum and a link directory on loopback.

Each site has its own loopback address, so each is its own registered domain,
as on the web. The pages exercise what tiercrawl reports: a live in-content
link, a nofollow/sponsored one, a footer link, a noindex page, a missing link,
a gone page, a deleted post redirected to its blog's home page, a link only
JavaScript inserts, tier-2 support, a link farm.
"""

from __future__ import annotations

from importlib.resources import files
from string import Template
from typing import Any

from tiercrawl.demo.webserver import Site, Web

__all__ = ["DemoWeb"]

# (site, path, page file, extra route options); the page files live in demo/site/.
# One fixed port on every demo address, so the demo campaign's URLs stay the same
# from one demo run to the next and `tiercrawl diff acme-demo` compares like with like.
DEMO_PORT = 8421

_PAGES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("money", "/", "money-home.html", {}),
    ("money", "/drills/", "money-drills.html", {}),
    ("money", "/saws/", "money-saws.html", {}),
    ("money", "/ladders/", "money-ladders.html", {}),
    ("bloga", "/best-cordless-drills", "a-best-cordless-drills.html", {}),
    ("bloga", "/circular-saw-guide", "a-circular-saw-guide.html", {}),
    ("bloga", "/ladder-safety", "a-ladder-safety.html", {}),
    ("bloga", "/drill-driver-review", "a-js-review.html", {}),
    ("blogb", "/", "b-home.html", {}),
    ("blogb", "/kitchen-renovation", "b-kitchen-renovation.html", {}),
    ("blogb", "/garden-shed", "b-garden-shed.html", {}),
    ("blogb", "/winter-tips", "b-winter-tips.html", {}),
    ("forum", "/t/101", "f-thread-101.html", {}),
    ("forum", "/t/102", "f-thread-102.html", {}),
    ("forum", "/t/103", "f-thread-103.html", {}),
    ("directory", "/tools", "d-directory.html", {}),
]
# (site, path, where it redirects): a deleted post whose blog sends its visitors home.
_REDIRECTS = [("blogb", "/tool-shed-makeover", "/")]

_CAMPAIGN = """\
# The demo campaign: Acme Tools' tier-1 placements and their tier-2 support.
name: acme-demo
money_site: $money/
brand: [Acme, Acme Tools]
keywords: [cordless drill, power drill, circular saw, ladder]
tier1:
  - url: $bloga/best-cordless-drills
    target: $money/drills/
    anchor: cordless drills
    vendor: Guest Post Guild                # optional: the deal, for the report
    guaranteed_until: 2027-06-30
    price: 150
  - url: $bloga/circular-saw-guide
    target: $money/saws/
    vendor: Guest Post Guild
    price: 120
  - url: $bloga/ladder-safety
    target: $money/ladders/
  - url: $bloga/drill-driver-review
    target: $money/drills/
  - url: $bloga/2019/old-drill-roundup
    target: $money/drills/
  - url: $blogb/kitchen-renovation
    target: $money/
    anchor: Acme Tools
    vendor: Niche Edits Ltd
    price: 90
  - url: $blogb/garden-shed
    target: $money/saws/
  - url: $blogb/winter-tips
    target: $money/ladders/
  - url: $blogb/tool-shed-makeover
    target: $money/saws/
    vendor: Niche Edits Ltd
    guaranteed_until: 2027-12-31
    price: 80
  - url: $directory/tools
    target: $money/drills/
tier2:
  - url: $forum/t/101
    target: $bloga/best-cordless-drills
  - url: $forum/t/102
    target: $blogb/kitchen-renovation
  - url: $forum/t/103
    target: $bloga/drill-driver-review
"""


class DemoWeb(Web):
    """The demo sites, serving from ``start()`` until ``stop()``."""

    def __init__(self) -> None:
        super().__init__(
            money=Site("127.0.0.21", DEMO_PORT),
            bloga=Site("127.0.0.22", DEMO_PORT),
            blogb=Site("127.0.0.23", DEMO_PORT),
            forum=Site("127.0.0.24", DEMO_PORT),
            directory=Site("127.0.0.25", DEMO_PORT),
        )
        bases = {name: site.base for name, site in self.sites.items()}
        pages = files("tiercrawl.demo") / "site"
        for site, path, filename, options in _PAGES:
            text = Template((pages / filename).read_text(encoding="utf-8")).substitute(bases)
            self.sites[site].add(path, text, **options)
        for site, path, to in _REDIRECTS:
            self.sites[site].redirect(path, to)
        self.campaign_yaml = Template(_CAMPAIGN).substitute(bases)
