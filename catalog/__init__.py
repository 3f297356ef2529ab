"""The three lists (responsibility, requirement, negative), share requests and their engine."""
