"""Shipped in the test layer under python/; reports where it was imported from."""

WHERE = __file__
