"""Jobs over stored runs: placements, scoring, reports."""
