"""The one Sentry set-up of every function, cold-start marking, and the seed's tags and data.

Functions call ``init_sentry()`` once at import, and ``slot_common.service_app`` marks each
invocation. Everything else in the functions reaches Sentry through the helpers here
(``span``, ``capture_exception``, ``trace_headers``, ``tag``, ``record``), so that with
neither SENTRY_DSN nor SENTRY_SPOTLIGHT set the SDK is not even imported: a clean no-op that
costs a cold start nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

from slot_common import sentry_events, sentry_relay
from slot_common.settings import settings

_sentry: Any = None  # the sentry_sdk module once init_sentry() enabled it


def _process_started_at() -> float:
    """Wall-clock start of this process (Linux): the beginning of the init phase."""
    try:
        with open("/proc/self/stat") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith("btime"))
        return boot + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration):
        return time.time()


_PROCESS_STARTED_AT = _process_started_at()
_invocations = 0


def init_sentry(*, extra_integrations: Sequence[Any] = (), transport: Any = None) -> bool:
    """Initialises the SDK with exactly the integrations these functions use.

    Auto-enabling integrations stay off: each one costs import time on every cold start.
    """
    global _sentry
    config = settings()
    if not (config.sentry_dsn or config.sentry_spotlight or transport):
        return False
    import sentry_sdk
    from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration
    from sentry_sdk.integrations.chalice import ChaliceIntegration
    from sentry_sdk.integrations.pymongo import PyMongoIntegration

    dsn, spotlight = config.sentry_dsn, config.sentry_spotlight
    if not dsn and spotlight:
        # Spotlight speaks Sentry's envelope protocol: as the DSN it gets the SDK's normal
        # asynchronous transport and our sample rates. (The `spotlight` option alone sends
        # synchronously and forces every trace and profile, which a loaded function feels.)
        dsn, spotlight = spotlight_dsn(spotlight), None
    port = sentry_relay.relay_port() if config.sentry_relay_port and transport is None else None
    if port is not None and dsn:  # the relay extension forwards to the DSN and to Spotlight
        dsn, spotlight, transport = (
            sentry_relay.relay_dsn(dsn, port),
            None,
            sentry_relay.relay_transport(port),
        )
    local = not config.sentry_dsn or port is not None
    sentry_sdk.init(
        dsn=dsn,
        # False, not None: with None the SDK reads SENTRY_SPOTLIGHT from the environment itself
        # and sends every envelope a second time, synchronously (measured: a third of a warm
        # invoke's time). A Spotlight URL here is only for a real DSN plus Spotlight.
        spotlight=spotlight or False,
        transport=transport,
        integrations=[
            AwsLambdaIntegration(timeout_warning=True),
            ChaliceIntegration(),
            PyMongoIntegration(),
            *extra_integrations,
        ],
        auto_enabling_integrations=False,
        traces_sample_rate=config.traces_sample_rate,
        # continuous profiling, running while a transaction runs (the CPU spike's frames)
        profile_session_sample_rate=config.profiles_sample_rate,
        profile_lifecycle="trace",
        environment=config.sentry_environment,
        release=config.sentry_release,
        # query values stay out of span descriptions, also in Spotlight mode (which turns on
        # send_default_pii): no player data leaves, and repeated queries read the same, as
        # Sentry's N+1 detector groups them
        data_collection={"database_query_data": False, "user_info": False},
        **sentry_events.hooks(),
        _experiments=cast(Any, _transport_options(config.sentry_compression_level, local)),
    )
    _sentry = sentry_sdk
    return True


def _transport_options(level: int | None, local: bool) -> dict[str, Any]:
    """Envelopes to Spotlight on this machine go uncompressed (gzip -9 costs CPU for nothing
    on loopback); to Sentry, as the SDK chooses unless SENTRY_TRANSPORT_COMPRESSION_LEVEL says."""
    if level is None and local:
        level = 0
    return {} if level is None else {"transport_compression_level": level}


def spotlight_dsn(stream_url: str) -> str:
    """http://127.0.0.1:8969/stream -> http://spotlight@127.0.0.1:8969/0 (its /api/0/envelope/)."""
    scheme, _, rest = stream_url.partition("://")
    return f"{scheme}://spotlight@{rest.split('/', 1)[0]}/0"


def current_transaction() -> Any:
    if _sentry is None:
        return None
    span = _sentry.get_current_span()
    return span.containing_transaction if span is not None else None


class _NoSpan:
    def set_data(self, key: str, value: Any) -> None:
        pass


@contextlib.contextmanager
def span(op: str, name: str) -> Iterator[Any]:
    """A child span of the running transaction (or nothing, with Sentry off)."""
    if _sentry is None:
        yield _NoSpan()
        return
    with _sentry.start_span(op=op, name=name) as child:
        yield child


def capture_exception(error: BaseException) -> None:
    if _sentry is not None:
        _sentry.capture_exception(error)


def trace_headers() -> dict[str, str]:
    """sentry-trace and baggage of the running trace, for a call to another function."""
    if _sentry is None:
        return {}
    return {"sentry-trace": _sentry.get_traceparent() or "", "baggage": _sentry.get_baggage() or ""}


def mark_invocation() -> bool:
    """Tags the running transaction with cold_start, and init duration on the cold one."""
    global _invocations
    _invocations += 1
    cold = _invocations == 1
    transaction = current_transaction()
    if transaction is not None:
        transaction.set_tag("cold_start", "true" if cold else "false")
        transaction.set_data("faas.coldstart", cold)
        if cold:
            transaction.set_data("faas.init_duration_ms", round(init_duration_ms(), 2))
    return cold


def init_duration_ms() -> float:
    """Time from process start to now; read on the first invocation it is the init phase."""
    return (time.time() - _PROCESS_STARTED_AT) * 1000


def invocation_count() -> int:
    return _invocations


def name_after_route(method: str, route: str, function_name: str | None = None) -> None:
    """Names the transaction (and the events of this scope) after the route, source "route",
    as Sentry's web framework integrations do: "GET /api/v1/users/{user_id}/history".

    AwsLambdaIntegration names it after the function, so in Sentry's performance views every
    route of a function, a scenario and its fix, was one transaction. Called on the
    invocation's current scope (ServiceApp's middleware), the name also reaches the view's
    errors and the timeout warning: the current scope's name wins over ChaliceIntegration's.
    The function's name stays where Sentry's AWS context has it (extra ``lambda.function_name``,
    filled by the integration) and becomes the tag ``faas.name``.
    """
    if _sentry is None:
        return
    from sentry_sdk.tracing import TransactionSource

    _sentry.get_current_scope().set_transaction_name(f"{method} {route}", source=TransactionSource.ROUTE)
    if function_name:
        tag("faas.name", function_name)


def tag_scenario(scenario: str, mode: str) -> None:
    """``scenario:<catalog id>`` and ``mode:antipattern|optimized``, the same on both sides of
    a pair: one query in Sentry compares the anti-pattern and its fix."""
    tag("scenario", scenario)
    tag("mode", mode)


def tag(name: str, value: str) -> None:
    """A searchable tag on the transaction (performance.issue, antipattern, ...)."""
    transaction = current_transaction()
    if transaction is not None:
        transaction.set_tag(name, value)


def record(name: str, value: float | int) -> None:
    """A number on the transaction (span data; the SDK's measurement API is deprecated)."""
    transaction = current_transaction()
    if transaction is not None:
        transaction.set_data(name, value)
