"""The Chalice app every function uses: JSON errors, 503 when MongoDB is down, cold starts.

Applied once here instead of in every view: views raise Chalice's own errors
(``BadRequestError``, ``NotFoundError``, ...) and this turns every error response, Chalice's
own 404/405 included, into ``{"error": "..."}``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import BadRequestError, Chalice, ChaliceViewError, CORSConfig, Request, Response
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

from slot_common.modes import current_request
from slot_common.observability import capture_exception, mark_invocation, name_after_route
from slot_common.settings import settings

DATABASE_ERRORS = (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect)
ALLOWED_HEADERS = ["sentry-trace", "baggage", "content-type", "idempotency-key"]


class ServiceUnavailableError(ChaliceViewError):
    STATUS_CODE = 503


def cors_config() -> CORSConfig | None:
    """CORS for the debug page's origin only (ALLOWED_ORIGIN), with Sentry's trace headers."""
    origin = settings().allowed_origin
    if not origin:
        return None
    return CORSConfig(
        allow_origin=origin,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=[
            "x-db-queries",
            "x-scenario",
            "x-mode",
            "x-memory-mb",
            "x-memory-limit-mb",
            "x-cold-start",
            "idempotent-replayed",
            "retry-after",
        ],
        max_age=600,
    )


def _unavailable_when_database_is_down(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DATABASE_ERRORS as error:
            capture_exception(error)
            raise ServiceUnavailableError(f"database unavailable: {type(error).__name__}") from error

    return wrapped


def _json_error_body(response: Response) -> Response:
    """Chalice writes errors as {"Code", "Message"}; the API promises {"error": ...}."""
    body = response.body
    if isinstance(body, str) and response.status_code >= 400:
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if isinstance(body, dict) and "Message" in body and "Code" in body:
        response.body = {"error": body["Message"], "code": body["Code"]}
        response.headers["Content-Type"] = "application/json"
    return response


def _name_after_route(app: Chalice, request: Request) -> None:
    """The transaction named "<METHOD> <API Gateway resource>" (Chalice's request.path is the
    resource path, e.g. /api/v1/users/{user_id}/history)."""
    context = app.lambda_context
    name_after_route(request.method, request.path, getattr(context, "function_name", None))


class ServiceApp(Chalice):
    """Chalice with the project's cross-cutting behaviour registered once."""

    def __init__(self, app_name: str) -> None:
        super().__init__(app_name=app_name)
        self.register_middleware(self._per_invocation, "all")

    def route(self, path: str, **kwargs: Any) -> Callable[..., Any]:
        kwargs.setdefault("cors", cors_config())
        # Chalice answers 415 for other content types itself; json_body() answers 400 instead
        kwargs.setdefault("content_types", ["*/*"])
        register = super().route(path, **kwargs)

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            register(_unavailable_when_database_is_down(view))
            return view

        return decorator

    def _per_invocation(self, event: Any, get_response: Callable[[Any], Any]) -> Any:
        cold = mark_invocation()
        if isinstance(event, Request):
            # on the invocation's current scope: the transaction, the view's errors (in
            # ChaliceIntegration's fork of it) and the timeout warning all carry the route
            _name_after_route(self, event)
        response = get_response(event)
        if not isinstance(response, Response):
            return response
        response.headers["X-Cold-Start"] = "true" if cold else "false"
        return _json_error_body(response)


def json_body(app: Chalice, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    request = current_request(app)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequestError("Content-Type must be application/json")
    try:
        body = json.loads(request.raw_body or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object")
    missing = [name for name in required if name not in body]
    if missing:
        raise BadRequestError(f"missing field(s): {', '.join(missing)}")
    return body


def positive_int(value: Any, name: str, maximum: int | None = None) -> int:
    """A strictly positive integer (booleans and floats are refused), at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{name} must be an integer")
    if value <= 0:
        raise BadRequestError(f"{name} must be greater than 0")
    if maximum is not None and value > maximum:
        raise BadRequestError(f"{name} must be at most {maximum}")
    return value


def query_int(app: Chalice, name: str, default: int, low: int, high: int) -> int:
    params: Mapping[str, str] = current_request(app).query_params or {}
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequestError(f"{name} must be between {low} and {high}")
    return value
