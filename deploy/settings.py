"""The deploy side's settings: what the stack, the seed and the page are told. Read here only
(the local cloud's own settings are localcloud.settings; the functions' slot_common.settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from slot_common.data_model import DATABASE

DEFAULT_STACK = "slot-machine"


@dataclass(frozen=True)
class DeploySettings:
    stack_name: str = DEFAULT_STACK
    database: str = DATABASE
    sentry_dsn: str = ""
    sentry_browser_dsn: str = ""  # the page's, when it differs from the functions'
    sentry_org_url: str = ""
    sentry_environment: str = "local"
    sentry_release: str = ""
    dangerous_scenarios_enabled: str = "true"
    cpu_spike_limit: str = ""  # empty: the template's default
    game_engine_timeout: str = ""  # seconds; empty: the template's default
    sentry_relay_port: str = ""  # empty: the template's default (the relay on); 0: off
    hot_reload: bool = False  # the local executor serves code from the working tree (make watch)

    @classmethod
    def from_env(cls) -> DeploySettings:
        env = os.environ
        return cls(
            stack_name=env.get("STACK_NAME") or DEFAULT_STACK,
            database=env.get("MONGODB_DATABASE") or DATABASE,
            sentry_dsn=env.get("SENTRY_DSN", ""),
            sentry_browser_dsn=env.get("SENTRY_BROWSER_DSN") or env.get("SENTRY_DSN", ""),
            sentry_org_url=env.get("SENTRY_ORG_URL", ""),
            sentry_environment=env.get("SENTRY_ENVIRONMENT") or "local",
            sentry_release=env.get("SENTRY_RELEASE", ""),
            dangerous_scenarios_enabled=env.get("DANGEROUS_SCENARIOS_ENABLED") or "true",
            cpu_spike_limit=env.get("CPU_SPIKE_LIMIT", ""),
            game_engine_timeout=env.get("GAME_ENGINE_TIMEOUT", ""),
            sentry_relay_port=env.get("SENTRY_RELAY_PORT", ""),
            hot_reload=env.get("HOT_RELOAD", "").lower() in ("1", "true", "yes"),
        )
