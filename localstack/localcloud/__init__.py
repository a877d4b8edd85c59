"""The local cloud: start, stop and inspect LocalStack, the MongoDB server and Spotlight.

Knows nothing about the slot machine; ``python -m localcloud up|down|status`` is what the
Makefile calls.
"""
