"""The test web: a money site, a blog and a forum, each on its own loopback address."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path
from string import Template

from tiercrawl.demo.webserver import Site, Web

SITE_DIR = Path(__file__).parent / "site"


class TestWeb(Web):
    __test__ = False  # a fixture, not a test class

    def __init__(self) -> None:
        self.money = Site("127.0.0.2")
        self.blog = Site("127.0.0.3")
        self.forum = Site("127.0.0.4")
        super().__init__(money=self.money, blog=self.blog, forum=self.forum)
        self.build()

    def page(self, name: str) -> str:
        text = (SITE_DIR / name).read_text(encoding="utf-8")
        return Template(text).substitute({k: s.base for k, s in self.sites.items()})

    def build(self) -> None:
        money, blog, forum = self.money, self.blog, self.forum
        money.add("/drills/", self.page("money/drills.html"))
        money.add("/saws/", self.page("money/saws.html"))
        money.redirect("/old-drills", "/drills/")
        # A target that moved to another site: its links are matched after the redirect.
        money.redirect("/catalogue", f"{self.forum.base}/acme")
        blog.add("/robots.txt", self.page("blog/robots.txt"), content_type="text/plain")
        for name in (
            "best-drills",
            "nofollow-post",
            "noindex-post",
            "canonical-post",
            "missing-post",
            "cross-domain-post",
        ):
            blog.add(f"/{name}", self.page(f"blog/{name}.html"))
        blog.add(
            "/xrobots-post",
            self.page("blog/xrobots-post.html"),
            headers={"X-Robots-Tag": "googlebot: noindex, nofollow"},
        )
        blog.redirect("/moved", "/moved-post")
        blog.add("/moved-post", self.page("blog/moved-post.html"))
        blog.add("/gone", "<title>Gone</title>", status=404)
        blog.add("/private/post", self.page("blog/best-drills.html"))
        blog.redirect("/to-private", "/private/post")
        blog.add("/google-closed/post", self.page("blog/best-drills.html"))
        blog.add("/busy", "<title>Busy</title>", status=503)
        blog.add(
            "/rate-limited", "<title>Slow down</title>", status=429, headers={"Retry-After": "1"}
        )
        blog.add("/slow", self.page("blog/best-drills.html"), delay=4)
        blog.add("/file.pdf", b"%PDF-1.4 not a page", content_type="application/pdf")
        blog.add("/huge", "<p>" + "x" * 300_000 + "</p>")
        blog.add("/blank", " \n")
        blog.add("/no-content", "", status=204)
        # A gzip stream cut short, framed as whole: the link is in the lost half.
        gzipped = gzip.compress(self.page("blog/best-drills.html").encode())
        blog.add("/gzipped", gzipped, headers={"Content-Encoding": "gzip"})
        blog.add("/cut-gzip", gzipped[:200], headers={"Content-Encoding": "gzip"})
        # More links into the money site than a page document keeps (`TARGET_LINKS_KEPT`).
        drills = f"{money.base}/drills/"
        blog.add("/sitewide", f'<p><a href="{drills}">Acme</a> drills.</p>' * 1001)
        blog.redirect("/loop-a", "/loop-b")
        blog.redirect("/loop-b", "/loop-a")
        blog.add("/no-location", "<title>Moved</title>", status=301)
        # Redirects no request can be made of: browsers stay where they are.
        blog.add("/to-script", "", status=302, headers={"Location": "javascript:void(0)"})
        # Upper case, as old pages write it: read as a redirect all the same.
        blog.add("/refresh-moved", '<META HTTP-EQUIV="Refresh" CONTENT="0; URL=/moved-post">')
        blog.add(
            "/refresh-to-mail",
            '<meta http-equiv="refresh" content="0; url=mailto:editor@blog.example">'
            + self.page("blog/best-drills.html"),
        )
        blog.add(
            "/challenge", "<title>Just a moment...</title><p>Checking your browser</p>", status=403
        )
        # A challenge served with 200 and the site's own title: only its text tells.
        blog.add("/captcha-wall", "<title>Blog</title><p>Please solve the CAPTCHA to continue</p>")
        forum.add("/acme", "<title>Acme catalogue</title><p>Drills and saws.</p>")
        forum.add("/t/1", self.page("forum/thread-1.html"))
        forum.add("/t/2", self.page("forum/thread-2.html"))

    def campaign_yaml(self) -> str:
        m, b, f = self.money.base, self.blog.base, self.forum.base
        t1 = [
            (f"{b}/best-drills", f"{m}/drills/", "Acme cordless drills"),
            (f"{b}/nofollow-post", f"{m}/saws/", None),
            (f"{b}/noindex-post", f"{m}/drills/", None),
            (f"{b}/xrobots-post", f"{m}/drills/", None),
            (f"{b}/canonical-post", f"{m}/drills/", None),
            (f"{b}/missing-post", f"{m}/drills/", None),
            (f"{b}/moved", f"{m}/old-drills", None),
            (f"{b}/cross-domain-post", f"{m}/catalogue", None),
            (f"{b}/gone", f"{m}/drills/", None),
            (f"{b}/private/post", f"{m}/drills/", None),
            (f"{b}/busy", f"{m}/drills/", None),
            (f"{b}/slow", f"{m}/drills/", None),
            (f"{b}/file.pdf", f"{m}/drills/", None),
            (f"{b}/huge", f"{m}/drills/", None),
            (f"{b}/loop-a", f"{m}/drills/", None),
            (f"{b}/no-location", f"{m}/drills/", None),
            (f"{b}/challenge", f"{m}/drills/", None),
            (f"{b}/captcha-wall", f"{m}/drills/", None),
            ("http://unresolvable.invalid/post", f"{m}/drills/", None),
            (f"http://127.0.0.1:{closed_port()}/post", f"{m}/drills/", None),
        ]
        lines = [
            "name: test-web",
            f"money_site: {m}/",
            "brand: [Acme]",
            "keywords: [cordless drill, power drill]",
            "tier1:",
        ]
        for url, target, anchor in t1:
            lines += [f"  - url: {url}", f"    target: {target}"]
            if anchor:
                lines.append(f"    anchor: {anchor}")
        lines += [
            "tier2:",
            f"  - url: {f}/t/1",
            f"    target: {b}/best-drills",
            f"  - url: {f}/t/2",
            f"    target: {b}/missing-post",
        ]
        return "\n".join(lines) + "\n"


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
