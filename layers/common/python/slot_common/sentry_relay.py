"""Sending to the sentry-relay extension (layers/sentry-relay) when the function has it.

The relay answers an envelope at once and forwards it after the function's response, so the
SDK's flush (which AwsLambdaIntegration must do before answering) costs a loopback round
trip instead of a trip to Sentry. The relay writes its port to $TMPDIR/sentry-relay.port
during the Extension init, before this code runs; no file, no relay: the SDK sends directly.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

PORT_FILE = "sentry-relay.port"
MARKER_TIMEOUT_SECONDS = 0.5


def relay_port() -> int | None:
    """The relay's port in this execution environment, if it runs."""
    try:
        with open(os.path.join(tempfile.gettempdir(), PORT_FILE)) as port_file:
            return int(port_file.read().strip())
    except (OSError, ValueError):
        return None


def relay_dsn(dsn: str, port: int) -> str:
    """The same key and project, at the relay: https://key@o1.ingest.sentry.io/5 ->
    http://key@127.0.0.1:<port>/5."""
    key = dsn.split("://", 1)[1].split("@", 1)[0]
    return f"http://{key}@127.0.0.1:{port}/{dsn.rstrip('/').rsplit('/', 1)[1]}"


def relay_transport(port: int) -> type:
    """The SDK's HTTP transport whose flush ends with a marker: the relay learns that the
    runtime is about to answer, and forwards after the answer."""
    import urllib.request  # only with Sentry on: nothing for a cold start without it

    from sentry_sdk.transport import HttpTransport

    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    class RelayTransport(HttpTransport):
        def flush(self, timeout: float, callback: Any = None) -> None:
            super().flush(timeout, callback)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/flush", data=b"", method="POST")
            try:
                with no_proxy.open(request, timeout=MARKER_TIMEOUT_SECONDS) as answer:
                    answer.read()
            except OSError:  # the relay is gone: the envelopes are its to lose, not the function's
                pass

    return RelayTransport
