from __future__ import annotations

from typing import Any

import pytest

from tiercrawl.core.diff import (
    Change,
    Observation,
    align,
    compare,
    find_relinked,
    needs_documents,
    needs_pages,
    needs_recheck,
    needs_relink,
    overlay,
    placement_digest,
    resolve_recheck,
)
from tiercrawl.core.urls import match_key
from tiercrawl.testing import link_document, placement_document

URL = "https://blog.example.org/best-drills"
TARGET = "https://www.acme.example/drills/"
CONTEXT = (
    "We tested twelve drills over a month of building work and the Acme cordless drills "
    "stood out for battery life, torque and a chuck that never slipped under load"
)


def link(**fields: Any) -> dict[str, Any]:
    return link_document(
        URL, TARGET, 4, **{"anchor_text": "Acme cordless drills", "context": CONTEXT, **fields}
    )


def placement(status: str = "live", **fields: Any) -> dict[str, Any]:
    found = status in ("live", "nofollow", "not_indexable")
    return placement_document(
        1,
        URL,
        TARGET,
        status,
        link() if found else None,
        **{
            "run_id": "r",
            "campaign": "c",
            "reason": "",
            "expected_anchor": "Acme cordless drills",
            "anchor_matches": True if found else None,
            "page_status": 200,
            "page_error": None,
            **fields,
        },
    )


def page(**fields: Any) -> dict[str, Any]:
    return {
        "url": URL,
        "status": 200,
        "error": None,
        "indexable": True,
        "indexability": [],
        "meta_robots": [],
        "x_robots_tag": [],
        "canonical": None,
        "page_nofollow": False,
        **fields,
    }


def kinds(changes: list[Change]) -> list[str]:
    return sorted(c.kind for c in changes)


def diff(old: dict[str, Any], new: dict[str, Any], **kwargs: Any) -> list[Change]:
    return compare(Observation(old), Observation(new), **kwargs)


def test_unchanged_placement_gives_nothing() -> None:
    assert diff(placement(), placement()) == []


def test_lost_names_the_placement_the_values_and_the_evidence() -> None:
    gone = placement("missing", reason="no link to the target on the page")
    (change,) = diff(placement(), gone)
    assert change.kind == "lost"
    assert (change.tier, change.url, change.target) == (1, URL, TARGET)
    assert (change.old, change.new) == ("live", "missing")
    assert (change.severity, change.state) == ("regression", "alert")
    assert change.evidence["status"] == {"old": "live", "new": "missing"}
    assert change.evidence["found"] == {"old": True, "new": False}
    assert change.reason == "no link to the target on the page"


def test_page_gone_is_lost_and_a_page_status_change() -> None:
    gone = placement("page_error", page_status=404)
    changes = diff(placement(), gone)
    assert kinds(changes) == ["lost", "page_status_changed"]
    status = next(c for c in changes if c.kind == "page_status_changed")
    assert (status.old, status.new, status.severity) == ("HTTP 200", "HTTP 404", "regression")
    # With the pages: the 404 makes the page unindexable for its status alone, said above.
    not_found = page(indexable=False, indexability=["status"])
    with_pages = compare(Observation(placement(), page()), Observation(gone, not_found))
    assert kinds(with_pages) == ["lost", "page_status_changed"]


def test_a_post_redirected_home_is_lost_and_moved_as_information() -> None:
    home = "https://blog.example.org/"
    reason = "no link to the target on the page; the page redirects to its site's home page"
    gone = placement("missing", moved_to=home, reason=reason)
    changes = diff(placement(moved_to=None), gone)
    assert kinds(changes) == ["lost", "page_moved"]
    moved = next(c for c in changes if c.kind == "page_moved")
    assert (moved.old, moved.new, moved.severity, moved.state) == (URL, home, "neutral", "info")
    assert moved.evidence == {"moved_to": {"old": None, "new": home}}
    assert moved.reason == reason


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # A run from before moved_to existed: nothing to compare with.
        (placement(), placement(moved_to="https://blog.example.org/")),
        # The same address in another form.
        (
            placement(moved_to="https://blog.example.org/new"),
            placement(moved_to="https://blog.example.org/new/"),
        ),
        # A page now gone: its status change says it.
        (
            placement(moved_to="https://blog.example.org/new"),
            placement("page_error", moved_to=None),
        ),
    ],
)
def test_no_page_moved_change_without_a_new_address_both_runs_read(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert "page_moved" not in kinds(diff(old, new))


def test_recovered() -> None:
    (change,) = diff(placement("missing"), placement())
    assert (change.kind, change.old, change.new, change.severity) == (
        "recovered",
        "missing",
        "live",
        "improvement",
    )


@pytest.mark.parametrize(
    ("old_status", "page_fields"),
    [
        ("live", {"page_status": 503}),
        ("live", {"page_status": 429}),
        ("missing", {"page_status": 403}),
        ("live", {"page_status": None, "page_error": "timeout"}),
        ("not_indexable", {"page_status": None, "page_error": "robots"}),
    ],
)
def test_inconclusive_newer_run_is_unverified_never_lost(
    old_status: str, page_fields: dict[str, Any]
) -> None:
    unread = placement("inconclusive", reason="page not read: HTTP 503", **page_fields)
    (change,) = diff(placement(old_status), unread)
    assert change.kind == "unverified"
    assert change.state == "unverified"
    assert change.reason == "page not read: HTTP 503"
    assert change.evidence["status"] == {"old": old_status, "new": "inconclusive"}


def test_inconclusive_twice_is_still_unverified() -> None:
    (change,) = diff(placement("inconclusive"), placement("inconclusive", page_status=429))
    assert (change.kind, change.state) == ("unverified", "unverified")


def test_after_an_unread_page_no_verdict_change_without_an_earlier_read() -> None:
    # The job compares from the latest run that read the page (tests/test_diff_job.py);
    # with none, a link never seen is not lost.
    assert diff(placement("inconclusive", page_status=503), placement()) == []
    assert diff(placement("inconclusive", page_status=503), placement("missing")) == []


def test_rel_flipped_to_nofollow() -> None:
    flipped = placement("nofollow")
    flipped["link"] = link(rel=["nofollow", "noopener"], nofollow=True)
    (change,) = diff(placement(), flipped)
    assert change.kind == "rel_changed"
    assert (change.old, change.new, change.severity) == (["follow"], ["nofollow"], "regression")
    assert change.evidence["link.rel"] == {"old": [], "new": ["nofollow", "noopener"]}


def test_page_wide_nofollow_is_a_rel_change_with_the_page_evidence() -> None:
    old, new = placement(), placement("nofollow")
    assert needs_pages(old, new)
    changes = compare(
        Observation(old, page()),
        Observation(new, page(page_nofollow=True, meta_robots=["nofollow"])),
    )
    assert kinds(changes) == ["rel_changed"]
    assert (changes[0].old, changes[0].new) == (["follow"], ["page-nofollow"])
    assert changes[0].evidence["page.page_nofollow"] == {"old": False, "new": True}
    assert changes[0].severity == "regression"


def test_noopener_alone_is_no_change() -> None:
    new = placement()
    new["link"] = link(rel=["noopener", "noreferrer"])
    assert diff(placement(), new) == []


def test_moved_to_footer() -> None:
    moved = placement()
    moved["link"] = link(region="footer", position=31)
    (change,) = diff(placement(), moved)
    assert (change.kind, change.old, change.new, change.severity) == (
        "region_changed",
        "content",
        "footer",
        "regression",
    )
    assert change.evidence["link.position"] == {"old": 4, "new": 31}


def test_anchor_changed_against_the_agreed_anchor_is_a_regression() -> None:
    new = placement(anchor_matches=False)
    new["link"] = link(anchor_text="click here")
    (change,) = diff(placement(), new)
    assert (change.kind, change.old, change.new) == (
        "anchor_changed",
        "Acme cordless drills",
        "click here",
    )
    assert change.severity == "regression"
    assert change.evidence["anchor_matches"] == {"old": True, "new": False}


def test_anchor_whitespace_and_case_are_no_change() -> None:
    new = placement()
    new["link"] = link(anchor_text="  acme   Cordless drills ")
    assert diff(placement(), new) == []


def test_an_anchor_in_another_unicode_form_is_no_change() -> None:
    # What the placement's anchor check reads as the same text, the diff does too.
    old, new = placement(), placement()
    old["link"] = link(anchor_text="Müller cord\u00adless drills")
    new["link"] = link(anchor_text="Mu\u0308ller cordless drills")
    assert diff(old, new) == []


def test_hidden_and_rendered_only_in_both_directions() -> None:
    hidden = placement()
    hidden["link"] = link(hidden=True, rendered_only=True)
    assert kinds(diff(placement(), hidden)) == ["became_hidden", "became_rendered_only"]
    assert kinds(diff(hidden, placement())) == ["became_static", "became_visible"]


def test_context_rewritten_beyond_the_threshold() -> None:
    small_edit = placement()
    small_edit["link"] = link(context=CONTEXT.replace("twelve", "fourteen"))
    assert diff(placement(), small_edit) == []
    rewritten = placement()
    rewritten["link"] = link(
        context="Sponsored: buy Acme cordless drills today at the best price in town, "
        "limited offer for our readers only"
    )
    (change,) = diff(placement(), rewritten)
    assert change.kind == "context_changed"
    assert change.evidence["similarity"]["new"] < 0.6


def test_page_noindexed_is_an_indexability_change_with_the_page_evidence() -> None:
    old, new = placement(), placement("not_indexable")
    assert needs_pages(old, new)
    changes = compare(
        Observation(old, page()),
        Observation(new, page(indexable=False, indexability=["noindex"], meta_robots=["noindex"])),
    )
    (change,) = changes
    assert change.kind == "indexability_changed"
    assert (change.old, change.new, change.severity) == ("indexable", ["noindex"], "regression")
    assert change.evidence["page.meta_robots"] == {"old": [], "new": ["noindex"]}


def test_pages_are_needed_only_where_the_page_may_differ() -> None:
    assert not needs_pages(placement(), placement())
    assert not needs_pages(placement("missing"), placement("missing"))
    assert not needs_pages(placement(), placement("inconclusive"))
    assert needs_pages(placement("not_indexable"), placement("not_indexable"))


def test_target_redirect_followed_by_the_link_is_no_change() -> None:
    # The target moved to /drills-2/ and the page's link was updated: both runs found it.
    new = placement()
    new["link"] = link(url="https://acme.example/drills-2/?utm_source=blog", href="/drills-2/")
    assert diff(placement(), new) == []


def test_link_pointed_elsewhere_is_a_target_change_not_a_loss() -> None:
    old, new = placement(), placement("missing")
    assert needs_relink(old, new)
    links = [
        link(url="https://acme.example/about", anchor_text="About"),
        link(url="https://rival.example/drills", anchor_text="Acme Cordless Drills"),
    ]
    relinked = find_relinked(old["link"], links)
    assert relinked is not None
    (change,) = diff(old, new, relinked=relinked)
    assert change.kind == "target_changed"
    assert (change.old, change.new) == (TARGET, "https://rival.example/drills")
    assert change.severity == "regression"
    assert find_relinked(old["link"], [link(anchor_text="Acme cordless drills")]) is None


def test_a_link_to_another_target_of_the_page_is_not_a_target_change() -> None:
    # The page also places "Acme cordless drills" towards the saws: that link is its own.
    saws = "https://acme.example/saws/"
    old = placement()
    links = [link(url=saws, anchor_text="Acme cordless drills")]
    assert find_relinked(old["link"], links, {match_key(saws)}) is None
    assert find_relinked(old["link"], links, {match_key(TARGET)}) == links[0]


def test_score_changed_beyond_the_threshold_only() -> None:
    def scored(score: float, relevance: float) -> dict[str, Any]:
        return {"score": score, "components": {"relevance": relevance}, "flags": []}

    small = compare(
        Observation(placement(), score=scored(70, 0.8)),
        Observation(placement(), score=scored(75, 0.8)),
    )
    assert small == []
    (change,) = compare(
        Observation(placement(), score=scored(70, 0.8)),
        Observation(placement(), score=scored(52, 0.3)),
    )
    assert (change.kind, change.old, change.new, change.severity) == (
        "score_changed",
        70.0,
        52.0,
        "regression",
    )
    assert change.evidence == {"components.relevance": {"old": 0.8, "new": 0.3}}
    assert compare(Observation(placement(), score=scored(70, 0.8)), Observation(placement())) == []


def test_new_and_removed_entries() -> None:
    (added,) = compare(None, Observation(placement("missing")))
    (removed,) = compare(Observation(placement()), None)
    assert (added.kind, added.new) == ("new", "missing")
    assert (removed.kind, removed.old) == ("removed", "live")


def key_doc(tier: int, url: str, target: str = TARGET, status: str = "live") -> dict[str, Any]:
    return {"tier": tier, "url": url, "target": target, "status": status}


def test_align_pairs_sorted_streams_and_url_form_edits() -> None:
    old = [key_doc(1, "http://a.test/1"), key_doc(1, "http://b.test/1"), key_doc(2, "http://f/1")]
    new = [
        key_doc(1, "http://a.test/1"),
        key_doc(1, "http://c.test/1"),
        key_doc(2, "http://f/1/?utm_source=x"),
        key_doc(2, "http://www.f/1", target="http://other.test/"),
    ]
    pairs = [
        (a["url"] if a else None, b["url"] if b else None) for a, b in align(iter(old), iter(new))
    ]
    assert pairs == [
        ("http://a.test/1", "http://a.test/1"),
        ("http://b.test/1", None),
        ("http://f/1", "http://f/1/?utm_source=x"),
        (None, "http://c.test/1"),
        (None, "http://www.f/1"),
    ]


def test_align_refuses_unsorted_streams() -> None:
    old = [key_doc(2, "http://a.test/"), key_doc(1, "http://a.test/")]
    with pytest.raises(ValueError, match="out of order"):
        list(align(old, []))


def test_overlay_takes_the_newest_conclusive_document() -> None:
    run = [key_doc(1, "http://a/", status="live"), key_doc(1, "http://b/", status="live")]
    recheck_1 = [key_doc(1, "http://a/", status="missing"), key_doc(1, "http://b/", status="live")]
    recheck_2 = [key_doc(1, "http://a/", status="inconclusive")]
    merged = list(overlay([run, recheck_1, recheck_2]))
    assert [(d["url"], d["status"]) for d in merged] == [
        ("http://a/", "missing"),
        ("http://b/", "live"),
    ]
    assert merged[1] is recheck_1[1]


def test_recheck_confirms_a_loss_seen_twice() -> None:
    prior = diff(placement(), placement("missing"))
    current = diff(placement(), placement("missing"))
    (change,) = resolve_recheck(current, prior)
    assert (change.kind, change.state) == ("lost", "confirmed")


def test_recheck_withdraws_what_it_no_longer_sees() -> None:
    prior = diff(placement(), placement("missing"))
    assert resolve_recheck([], prior) == [
        Change(**{**prior[0].__dict__, "state": "withdrawn"})  # type: ignore[arg-type]
    ]
    unverified = diff(placement(), placement("inconclusive", page_status=503))
    (withdrawn,) = resolve_recheck([], unverified)
    assert (withdrawn.kind, withdrawn.state) == ("unverified", "withdrawn")


def test_recheck_of_an_unread_page_confirms_what_it_finds_or_stays_unverified() -> None:
    unverified = diff(placement(), placement("inconclusive", page_status=503))
    (lost,) = resolve_recheck(diff(placement(), placement("missing")), unverified)
    assert (lost.kind, lost.state) == ("lost", "confirmed")
    still = diff(placement(), placement("inconclusive", page_status=429))
    (again,) = resolve_recheck(still, unverified)
    assert (again.kind, again.state) == ("unverified", "unverified")


def test_needs_recheck() -> None:
    assert needs_recheck(placement("missing"), diff(placement(), placement("missing")))
    assert needs_recheck(placement("inconclusive"), [])
    assert not needs_recheck(placement(), diff(placement("missing"), placement()))


def test_digest_ignores_the_run_and_sees_any_other_field() -> None:
    base = placement()
    other_run = placement(run_id="r2", _id="x", link=link(run_id="r2", campaign="c"))
    assert placement_digest(base) == placement_digest(other_run)
    assert compare(Observation(base), Observation(other_run)) == []
    for changed in (
        placement(link=link(context=CONTEXT + " more")),
        placement(link=link(rel=["noopener"])),
        placement(page_status=203),
        placement("nofollow"),
    ):
        assert placement_digest(changed) != placement_digest(base)


def test_equal_digests_skip_the_documents_unless_the_pages_could_change() -> None:
    def entry(p: dict[str, Any]) -> dict[str, Any]:
        return {"status": p["status"], "digest": placement_digest(p)}

    assert not needs_documents(entry(placement()), entry(placement(run_id="r2")))
    assert needs_documents(entry(placement()), entry(placement(page_status=203)))
    # Same noindexed placement: whether the page's reasons changed is in ``pages`` only.
    noindexed = entry(placement("not_indexable"))
    assert needs_documents(noindexed, noindexed)
    # An unread page: its unverified change, with the reason, needs the documents.
    unread = entry(placement("inconclusive"))
    assert needs_documents(unread, unread)
