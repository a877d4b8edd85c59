"""Where the local cloud lives and which ports it uses; every value can be overridden."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lambda_process_executor import interpreters
from lambda_process_executor.capacity import CapacitySettings
from localcloud.mongo_security import MongoSecrets

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name}={value!r} is not a TCP port (1-65535)")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """Read once per command from the environment (see README, 'Configuration')."""

    local_dir: Path  # state: PID files, logs, data
    localstack_port: int
    mongo_port: int
    spotlight_port: int
    mongodb_uri: str | None
    lambda_keepalive_ms: int
    localstack_endpoint: str | None = None  # a LocalStack that is not ours, named explicitly
    spotlight_endpoint: str | None = None  # a Spotlight that is not ours, named explicitly
    spotlight_allowed_origins: tuple[str, ...] = ()  # pages that may send browser envelopes
    region: str = "us-east-1"
    capacity: CapacitySettings = field(default_factory=CapacitySettings.from_env)
    tools_dir: Path = PROJECT_ROOT / ".local"  # the LocalStack and Lambda runtime environments

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            local_dir=Path(os.environ.get("LOCAL_DIR", PROJECT_ROOT / ".local")).resolve(),
            localstack_port=_port("LOCALSTACK_PORT", 4566),
            mongo_port=_port("MONGO_PORT", 27017),
            spotlight_port=_port("SPOTLIGHT_PORT", 8969),
            mongodb_uri=os.environ.get("MONGODB_URI") or None,
            lambda_keepalive_ms=int(os.environ.get("LAMBDA_KEEPALIVE_MS", "600000")),
            localstack_endpoint=os.environ.get("LOCALSTACK_ENDPOINT") or None,
            spotlight_endpoint=os.environ.get("SPOTLIGHT_URL") or None,
            spotlight_allowed_origins=tuple(
                origin.strip()
                for origin in os.environ.get("SPOTLIGHT_ALLOWED_ORIGINS", "").split(",")
                if origin.strip()
            ),
            region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )

    @property
    def localstack_python(self) -> Path:
        return self.tools_dir / "venv-localstack" / "bin" / "python"

    @property
    def lambda_python(self) -> Path:
        return self.tools_dir / "venv-lambda" / "bin" / "python"

    @property
    def lambda_pythons(self) -> dict[str, str]:
        """{Lambda runtime: its interpreter}: every runtime environment `make envs` built, then
        the LOCAL_LAMBDA_PYTHON_3_X settings of the environment (which win)."""
        built = {"python3.13": self.lambda_python}
        for venv in sorted(self.tools_dir.glob("venv-lambda-python3.*")):
            built[venv.name.removeprefix("venv-lambda-")] = venv / "bin" / "python"
        found = {runtime: str(python) for runtime, python in built.items() if python.exists()}
        return found | interpreters.configured(os.environ)

    @property
    def debugpy_dir(self) -> Path:
        """debugpy, installed apart (`make debug` adds it to a debugged runtime's path only)."""
        return self.tools_dir / "debugpy"

    @property
    def lambda_envs_dir(self) -> Path:
        """Where the executor keeps one folder (and pid file) per execution environment."""
        return self.local_dir / "localstack" / "lambda-process"

    @property
    def localstack_url(self) -> str:
        return (self.localstack_endpoint or f"http://127.0.0.1:{self.localstack_port}").rstrip("/")

    @property
    def spotlight_url(self) -> str:
        return (self.spotlight_endpoint or f"http://127.0.0.1:{self.spotlight_port}").rstrip("/")

    @property
    def mongo_secrets(self) -> MongoSecrets:
        """The local MongoDB's CA, certificates and credentials (made at the first `make up`)."""
        return MongoSecrets(self.local_dir / "mongo" / "secrets")

    @property
    def effective_mongodb_uri(self) -> str:
        """MONGODB_URI, else the local server: with its credentials, over TLS."""
        return self.mongodb_uri or self.mongo_secrets.uri(self.mongo_port)
