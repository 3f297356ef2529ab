"""Quality gates: expectation suites generated from contracts, scorecards, reports."""
