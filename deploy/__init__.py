"""Deploying the product: build, the CloudFormation stack on the local cloud, seed data, the
page, and Sentry's dashboards and alerts. ``python -m deploy.<module>``."""
