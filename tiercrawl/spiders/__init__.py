"""tiercrawl's spiders: ``tiers`` crawls a campaign's pages and targets."""
