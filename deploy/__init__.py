"""Deploying the product to the local cloud: seed data, stack, page. ``python -m deploy.<module>``."""
