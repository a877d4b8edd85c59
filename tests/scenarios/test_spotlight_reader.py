"""demo.spotlight reads a real Spotlight from where its last read ended: a full buffer of big
traces (a burst, the tour) must not hide the newest from the next poll."""

from __future__ import annotations

import json
import uuid

from demo import spotlight
from localcloud import http

SPANS = 400  # an N+1 trace's size


def _post_transaction(url: str, trace_id: str) -> None:
    spans = [{"op": "db", "description": "find " + "x" * 200, "span_id": f"{i:016x}"} for i in range(SPANS)]
    payload = json.dumps({"type": "transaction", "transaction": "t", "spans": spans,
                          "contexts": {"trace": {"trace_id": trace_id, "span_id": "0" * 16}}})  # fmt: skip
    header = json.dumps({"event_id": uuid.uuid4().hex})
    body = "\n".join([header, json.dumps({"type": "transaction"}), payload]).encode()
    reply = http.request(f"{url}/stream", "POST", body, {"Content-Type": "application/x-sentry-envelope"})
    assert reply.status == 200


def _traces(url: str, **read: float) -> set[str]:
    envelopes = spotlight.read_envelopes(url, **read)
    return {spotlight.trace_id(t) for t in spotlight.items(envelopes, "transaction")}


def test_a_poll_reads_only_what_is_new_and_keeps_what_it_saw(spotlight_server):
    earlier = [uuid.uuid4().hex for _ in range(300)]  # about 30 MB to replay
    for trace_id in earlier:
        _post_transaction(spotlight_server, trace_id)
    assert set(earlier) <= _traces(spotlight_server, at_most=120)
    newest = uuid.uuid4().hex
    _post_transaction(spotlight_server, newest)
    # a whole replay does not fit in 0.5 s; what came after the last read does
    seen = _traces(spotlight_server, at_most=0.5)
    assert newest in seen
    assert set(earlier) <= seen, "what an earlier read saw is still there"
