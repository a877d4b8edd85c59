"""The one way every scenario endpoint picks its variant: ``?mode=antipattern|optimized``."""

from __future__ import annotations

from enum import StrEnum

from chalice import BadRequestError, Chalice, Response


class Mode(StrEnum):
    ANTIPATTERN = "antipattern"
    OPTIMIZED = "optimized"


def requested_mode(app: Chalice, default: Mode = Mode.ANTIPATTERN) -> Mode:
    raw = (app.current_request.query_params or {}).get("mode")
    if raw is None:
        return default
    try:
        return Mode(raw)
    except ValueError:
        raise BadRequestError("mode must be 'antipattern' or 'optimized'") from None


def scenario_response(
    body: dict, *, scenario: str, mode: Mode, db_queries: int | None = None, status: int = 200
) -> Response:
    """The body is the same in both modes; what differs travels in headers."""
    headers = {"X-Scenario": scenario, "X-Mode": mode.value}
    if db_queries is not None:
        headers["X-Db-Queries"] = str(db_queries)
    return Response(body=body, status_code=status, headers=headers)
