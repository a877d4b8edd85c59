"""Configuration from environment variables, read once per execution environment.

Every variable is documented in docs/configuration.md; the defaults suit the local stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from slot_common.data_model import DATABASE


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _optional_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else None


def _bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str
    mongodb_database: str
    mongo_timeout_ms: int
    sentry_dsn: str | None
    sentry_spotlight: str | None
    sentry_environment: str
    sentry_release: str | None
    traces_sample_rate: float
    profiles_sample_rate: float
    sentry_compression_level: int | None
    sentry_relay_port: int | None  # the sentry-relay extension's port (None: send directly)
    max_bet: int
    cpu_spike_limit: int
    cpu_spike_max_limit: int
    timeout_work_limit: int  # the timeout scenario's work: past the Timeout whatever the spike's size
    leak_spins: int
    leak_mb_per_call: int
    memory_mb: int  # the function's MemorySize: on Lambda, its share of a vCPU (MemorySize/1769)
    eager_init: bool
    dangerous_scenarios_enabled: bool
    cold_start_functions: tuple[str, ...]  # the pair the page's "force a cold start" resets
    max_days: int
    user_balance_function: str
    allowed_origin: str | None  # the debug page's origin, the only one CORS allows
    idempotency_ttl_seconds: int


@cache
def settings() -> Settings:
    """The settings of this execution environment (environment variables are fixed per version)."""
    return Settings(
        mongodb_uri=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/"),
        mongodb_database=os.environ.get("MONGODB_DATABASE", DATABASE),
        mongo_timeout_ms=_int("MONGO_TIMEOUT_MS", 2000),
        sentry_dsn=os.environ.get("SENTRY_DSN") or None,
        sentry_spotlight=os.environ.get("SENTRY_SPOTLIGHT") or None,
        sentry_environment=os.environ.get("SENTRY_ENVIRONMENT", "local"),
        sentry_release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=_float("SENTRY_TRACES_SAMPLE_RATE", 1.0),
        profiles_sample_rate=_float("SENTRY_PROFILES_SAMPLE_RATE", 1.0),
        sentry_compression_level=_optional_int("SENTRY_TRANSPORT_COMPRESSION_LEVEL"),
        sentry_relay_port=_optional_int("SENTRY_RELAY_PORT"),
        max_bet=_int("MAX_BET", 500),
        cpu_spike_limit=_int("CPU_SPIKE_LIMIT", 900_000),
        cpu_spike_max_limit=_int("CPU_SPIKE_MAX_LIMIT", 5_000_000),
        timeout_work_limit=_int("TIMEOUT_WORK_LIMIT", 3_600_000),
        leak_spins=_int("LEAK_SPINS", 20_000),
        # an eighth of MemorySize: the runtime is killed after about eight warm calls
        leak_mb_per_call=_int("LEAK_MB_PER_CALL", _int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 256) // 8),
        memory_mb=_int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0),
        eager_init=_bool("EAGER_INIT", False),
        dangerous_scenarios_enabled=_bool("DANGEROUS_SCENARIOS_ENABLED", True),
        cold_start_functions=tuple(
            name for name in os.environ.get("COLD_START_FUNCTIONS", "").split(",") if name.strip()
        ),
        max_days=_int("ANALYTICS_MAX_DAYS", 365),
        user_balance_function=os.environ.get("USER_BALANCE_FUNCTION", "user-balance"),
        allowed_origin=os.environ.get("ALLOWED_ORIGIN") or None,
        idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", 3600),
    )
