"""Every query the jobs make is answered from an index: it examines no more documents than
it returns (the server's explain).

A compound index serves a query only up to the first of its fields that the
query does not pin with an equality: a range on ``tier`` before ``url`` made
each of the diff's lookups scan the whole run, and no count of returned
documents showed it.
"""

from __future__ import annotations

from tests.queries import Replies, assert_every_query_reads_what_it_returns
from tests.test_score_job import CAMPAIGN, build_run
from tiercrawl.core.campaign import campaign_from_dict
from tiercrawl.jobs.diff import changes_between, recheck_keys, report_sections
from tiercrawl.jobs.history import campaign_history
from tiercrawl.jobs.placements import compute_placements
from tiercrawl.jobs.report import load_report
from tiercrawl.jobs.score import score_run
from tiercrawl.store import Store


def test_the_jobs_after_a_crawl_query_by_index(watched: tuple[Store, Replies]) -> None:
    store, replies = watched
    store.campaigns.insert_one({"name": "acme", "campaign": CAMPAIGN})
    build_run(store, "run-1")
    build_run(store, "run-2", age=-1)
    replies.finds.clear()

    # run-2's pages keep no target links, so its placements come out missing: the diff
    # then looks up the changed pages' other targets too.
    compute_placements(store, "run-2", campaign_from_dict(CAMPAIGN))
    score_run(store, "acme")
    load_report(store, "acme")
    report_sections(store, "acme", "run-2")
    list(changes_between(store, "acme")[1])
    campaign_history(store, "acme")
    recheck_keys(store, "acme", "run-2")

    queried = {collection for collection, _ in replies.finds}
    assert {"pages", "placements", "placement_digests", "scores"} <= queried
    assert_every_query_reads_what_it_returns(store, replies)
