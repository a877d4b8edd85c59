"""The one way every scenario endpoint picks its variant: ``?mode=antipattern|optimized``."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from chalice.app import BadRequestError, Chalice, Request, Response

from slot_common.observability import tag_scenario


class Mode(StrEnum):
    ANTIPATTERN = "antipattern"
    OPTIMIZED = "optimized"


def current_request(app: Chalice) -> Request:
    """The request being handled (Chalice sets it for every view it calls)."""
    request = app.current_request
    if request is None:
        raise RuntimeError("no request is being handled")
    return request


def requested_mode(app: Chalice, default: Mode = Mode.ANTIPATTERN) -> Mode:
    params: Mapping[str, str] = current_request(app).query_params or {}
    raw = params.get("mode")
    if raw is None:
        return default
    try:
        return Mode(raw)
    except ValueError:
        raise BadRequestError("mode must be 'antipattern' or 'optimized'") from None


def scenario_response(
    body: dict[str, Any], *, scenario: str, mode: Mode, db_queries: int | None = None, status: int = 200
) -> Response:
    """The body is the same in both modes; what differs travels in headers, and the same
    facts go on the transaction as the tags scenario and mode."""
    tag_scenario(scenario, mode.value)
    headers: dict[str, str | list[str]] = {"X-Scenario": scenario, "X-Mode": mode.value}
    if db_queries is not None:
        headers["X-Db-Queries"] = str(db_queries)
    return Response(body=body, status_code=status, headers=headers)
