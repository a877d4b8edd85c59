"""The sentry-relay extension under a long run, for `make bench`: nothing lost.

The user service's balance route, invoked many times through Lambda with a DSN whose ingest is
a local sink: part way the ingest goes down for a while and comes back, and twice the
function's configuration changes (its environments are shut down: the relay drains on
SHUTDOWN). Every invoke's transaction must reach the sink; the ones that did not are counted.
"""

from __future__ import annotations

import json
import time
from typing import Any

from dev.events import EVENTS, api_gateway_event
from localcloud import aws
from localcloud.settings import Settings
from tests.support.envelopes import EnvelopeReceiver

EVENT = "balance.json"


def soak(settings: Settings, function: str, invokes: int = 1000, outage_s: float = 10.0) -> dict[str, Any]:
    """(how many invokes, transactions received, lost ones, drops the relay logged)."""
    lambda_client = aws.client(settings, "lambda")
    spec = next(e for e in EVENTS if e.file == EVENT)
    payload = json.dumps(api_gateway_event(spec)).encode()
    saved = lambda_client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    request_ids: list[str] = []
    with EnvelopeReceiver() as sink:
        variables = {"SENTRY_DSN": sink.dsn, "SENTRY_SPOTLIGHT": "", "SENTRY_RELAY_PORT": "5333"}
        aws.update_function_environment(lambda_client, function, variables)
        outage_at, reap_at = invokes // 3, (invokes // 2, 2 * invokes // 3)
        outage_ends = 0.0
        for number in range(invokes):
            if number == outage_at:
                sink.down, outage_ends = True, time.monotonic() + outage_s
            if sink.down and time.monotonic() >= outage_ends:
                sink.down = False
            if number in reap_at:  # a configuration change: SHUTDOWN to every environment
                aws.update_function_environment(lambda_client, function, {"SOAK_NONCE": str(number)})
            response = lambda_client.invoke(FunctionName=function, Payload=payload)
            response["Payload"].read()
            request_ids.append(response["ResponseMetadata"]["RequestId"])
        sink.down = False
        aws.update_function_environment(lambda_client, function, {"SOAK_NONCE": "end"})  # drain
        received = _received(sink, set(request_ids))
    aws.update_function_environment(lambda_client, function, saved | {"SOAK_NONCE": ""})
    lost = sorted(set(request_ids) - received)
    return {"invokes": invokes, "outage_s": outage_s, "received": len(received), "lost": lost[:20],
            "lost_count": len(lost)}  # fmt: skip


def _received(sink: EnvelopeReceiver, wanted: set[str], timeout: float = 60.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        got = {
            payload["extra"]["lambda"]["aws_request_id"]
            for header, payload in list(sink.items)
            if header.get("type") == "transaction" and "lambda" in payload.get("extra", {})
        }
        if wanted <= got or time.monotonic() > deadline:
            return got & wanted
        time.sleep(0.5)
