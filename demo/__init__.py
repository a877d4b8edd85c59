"""The demo itself: the scenario catalog (the one table), `make scenarios` and its checks in
Spotlight, Sentry's own detection and issue rules, and the docs blocks generated from them."""
