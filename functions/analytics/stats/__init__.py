"""The analytics service's queries: daily stats and player metrics, each with its fix."""
