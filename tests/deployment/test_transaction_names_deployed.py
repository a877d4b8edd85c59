"""Through API Gateway on the test LocalStack, what Spotlight receives: each side's transaction
named after its route (source route), tagged scenario/mode, the function's name kept in
Sentry's AWS context, request.url as the client sent it, accepted by Relay's normalizer."""

from __future__ import annotations

from typing import Any

import pytest

from demo import spotlight
from demo.scenario_catalog import SCENARIOS
from demo.scenarios import call
from tests.support.relay import relay_errors

pytestmark = pytest.mark.localstack
SLOW_OR_FATAL = {("timeout", "antipattern"), ("memory-leak", "antipattern"), ("cpu-spike", "antipattern"),
                 ("cascade", "antipattern")}  # fmt: skip
SIDES = [(s.id, m, r) for s in SCENARIOS for m, r in s.sides() if (s.id, m) not in SLOW_OR_FATAL]


def transaction_of(spotlight_url: str, trace_id: str, route_name: str) -> dict[str, Any]:
    found = spotlight.wait_for_transactions(
        spotlight_url, lambda t: spotlight.trace_id(t) == trace_id and t["transaction"] == route_name
    )
    assert found, f"no transaction {route_name!r} in trace {trace_id}"
    return found[0]


@pytest.mark.parametrize(("scenario", "mode", "request_"), SIDES, ids=[f"{s}-{m}" for s, m, _ in SIDES])
def test_each_side_reaches_spotlight_named_after_its_route(
    deployed_stack, spotlight_server, scenario, mode, request_
):
    sent = call(deployed_stack.api_url, request_)
    assert sent.status == 200, sent.body
    transaction = transaction_of(spotlight_server, sent.trace_id, request_.transaction)
    assert transaction["transaction_info"] == {"source": "route"}
    function = deployed_stack.functions[request_.function]
    assert transaction["extra"]["lambda"]["function_name"] == function
    tags = transaction["tags"]
    assert (tags["scenario"], tags["mode"], tags["faas.name"]) == (scenario, mode, function)
    url = transaction["request"]["url"]
    assert url.startswith("http://") and url.endswith(request_.resolve().path.split("?")[0]), url
    assert relay_errors(transaction) == []


# the timeout's warning, named after its route: test_deployed_stack.py (one timeout run for both)
