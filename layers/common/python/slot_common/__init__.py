"""Code every function shares (the common Lambda layer): settings, Sentry set-up, the Mongo
client, the Chalice app with JSON errors, and the data model."""
