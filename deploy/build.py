"""Build the deployable artifacts: the two layers and one package per function.

Every artifact is a reproducible zip (sorted entries, fixed timestamps, precompiled .pyc)
named by its content hash, so an unchanged input gives the same object key, the same
template and therefore no change on re-deploy. The dependencies layer is installed from
manylinux wheels for CPython 3.13 and rebuilt only when its requirements change. An artifact
whose inputs (files, modes, the compiling Python) are those of a zip already built is that
zip: a re-deploy with no change stages, compiles and zips nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from localcloud.settings import PROJECT_ROOT

BUILD_DIR = PROJECT_ROOT / ".local" / "build"
LAYER_REQUIREMENTS = PROJECT_ROOT / "layers" / "dependencies" / "requirements.txt"
COMMON_LAYER = PROJECT_ROOT / "layers" / "common"
RELAY_LAYER = PROJECT_ROOT / "layers" / "sentry-relay"
FUNCTIONS = PROJECT_ROOT / "functions"
RUNTIME_PYTHON = PROJECT_ROOT / ".local" / "venv-lambda" / "bin" / "python"
PLATFORM = ("manylinux2014_x86_64", "cp", "3.13")
# Lambda's quotas: 250 MB unzipped for a function and all its layers, 50 MB zipped per upload
UNZIPPED_LIMIT = 250 * 1024 * 1024
ZIPPED_LIMIT = 50 * 1024 * 1024
SKIP_PARTS = {"__pycache__", ".chalice", ".pytest_cache"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    name: str
    path: Path
    zipped_bytes: int
    unzipped_bytes: int

    @property
    def key(self) -> str:
        return self.path.name


def _files(root: Path) -> list[Path]:
    return sorted(
        path for path in root.rglob("*") if path.is_file() and not SKIP_PARTS.intersection(path.parts)
    )


def _compiling_python() -> Path:
    return RUNTIME_PYTHON if RUNTIME_PYTHON.exists() else Path(sys.executable)


def _compile(root: Path) -> None:
    """Precompiled bytecode: /var/task and /opt are read-only on AWS, so nothing is cached there."""
    subprocess.run(
        [
            str(_compiling_python()),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(root),
        ],
        check=True,
    )


def deterministic_zip(root: Path, include_bytecode: bool = True) -> tuple[bytes, int]:
    """(zip bytes, unzipped size) of everything under ``root``, byte-identical for equal inputs."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            parts = set(path.parts)
            if parts & {".chalice", ".pytest_cache"} or ("__pycache__" in parts and not include_bytecode):
                continue
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), FIXED_TIME)
            # an executable stays one (a layer's /opt/extensions), as AWS unzips it
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    return buffer.getvalue(), unzipped


def _store(name: str, data: bytes, unzipped: int) -> Artifact:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = BUILD_DIR / f"{name}-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    if not path.exists():
        path.write_bytes(data)
    return Artifact(name, path, len(data), unzipped)


def _inputs_key(*parts: bytes | Path) -> str:
    """What an artifact is made from: files (name, mode, bytes) under each folder, and literals."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            digest.update(b"\0literal\0" + part)
            continue
        for path in _files(part):
            mode = oct(path.stat().st_mode & 0o777).encode()
            digest.update(b"\0" + path.relative_to(part).as_posix().encode() + b"\0" + mode + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _reuse_or_build(name: str, inputs: Callable[[], str], build: Callable[[], Artifact]) -> Artifact:
    """The zip built before from the same inputs, else a new build, recorded for next time
    unless the inputs changed while it ran (an edit during a build)."""
    key = inputs()
    record = BUILD_DIR / f"{name}.inputs-{key}.json"
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
        known = json.loads(record.read_text())
        path = BUILD_DIR / known["zip"]
        if path.stat().st_size == known["zipped_bytes"]:
            return Artifact(name, path, known["zipped_bytes"], known["unzipped_bytes"])
    artifact = build()
    if inputs() != key:
        return artifact
    fields = {
        "zip": artifact.key,
        "zipped_bytes": artifact.zipped_bytes,
        "unzipped_bytes": artifact.unzipped_bytes,
    }
    record.write_text(json.dumps(fields))
    return artifact


def _builder() -> bytes:
    """How an artifact is made: this module's code, and the Python that compiles the bytecode
    (its .pyc files are part of the artifact)."""
    python = _compiling_python()
    return Path(__file__).read_bytes() + f"{python.resolve()}:{python.stat().st_mtime_ns}".encode()


def _stage(source: Path, staging: Path) -> Path:
    """A clean copy of ``source`` (no caches), compiled, to zip from."""
    shutil.rmtree(staging, ignore_errors=True)
    for path in _files(source):
        target = staging / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    _compile(staging)
    return staging


def build_dependencies_layer(log=print) -> Artifact:
    requirements = LAYER_REQUIREMENTS.read_bytes()
    key = hashlib.sha256(requirements + repr(PLATFORM).encode()).hexdigest()[:16]
    staging = BUILD_DIR / f"dependencies-layer-{key}"
    if not (staging / ".complete").exists():
        log(f"build: installing the dependencies layer ({LAYER_REQUIREMENTS.name} changed or first build)")
        shutil.rmtree(staging, ignore_errors=True)
        platform, implementation, version = PLATFORM
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--only-binary=:all:", "--platform", platform,
                "--implementation", implementation, "--python-version", version,
                "--target", str(staging / "python"), "-r", str(LAYER_REQUIREMENTS),
            ],
            check=True,
        )  # fmt: skip
        _trim_chalice(staging / "python" / "chalice")
        for metadata in (staging / "python").glob("*.dist-info"):
            for extra in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                (metadata / extra).unlink(missing_ok=True)
        shutil.rmtree(staging / "python" / "bin", ignore_errors=True)
        _compile(staging / "python")
        (staging / ".complete").touch()
    return _reuse_or_build(
        "dependencies-layer",
        lambda: _inputs_key(key.encode(), _builder()),
        lambda: _store("dependencies-layer", *deterministic_zip(staging)),
    )


def _trim_chalice(package: Path) -> None:
    """Keep the runtime module only: chalice/app.py imports nothing outside the standard library."""
    for path in package.iterdir():
        if path.name not in ("__init__.py", "app.py"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _staged_zip(name: str, source: Path, staging: Path, zip_root: Path) -> Artifact:
    """``source`` copied to ``staging``, compiled and zipped from ``zip_root``, unless unchanged."""

    def build() -> Artifact:
        _stage(source, staging)
        return _store(name, *deterministic_zip(zip_root))

    return _reuse_or_build(
        name, lambda: _inputs_key(source, _builder(), str(staging.relative_to(zip_root)).encode()), build
    )


def build_common_layer() -> Artifact:
    staging = BUILD_DIR / "staging" / "common-layer" / "python"
    return _staged_zip("common-layer", COMMON_LAYER / "python", staging, staging.parent)


def build_relay_layer() -> Artifact:
    """The sentry-relay extension, for /opt/extensions (no bytecode: a script, not a module)."""
    staging = BUILD_DIR / "staging" / "sentry-relay-layer" / "extensions"
    return _staged_zip("sentry-relay-layer", RELAY_LAYER / "extensions", staging, staging.parent)


def build_function(service: str) -> Artifact:
    staging = BUILD_DIR / "staging" / service
    return _staged_zip(service, FUNCTIONS / service, staging, staging)


def services() -> list[str]:
    return sorted(path.name for path in FUNCTIONS.iterdir() if (path / "app.py").exists())


def check_limits(functions: dict[str, Artifact], layers: list[Artifact]) -> list[str]:
    """Lines describing each function against Lambda's size quotas; raises if one is over."""
    layer_bytes = sum(layer.unzipped_bytes for layer in layers)
    lines = []
    for artifact in [*layers, *functions.values()]:
        if artifact.zipped_bytes > ZIPPED_LIMIT:
            raise ValueError(f"{artifact.name} is {artifact.zipped_bytes} bytes zipped, over Lambda's 50 MB")
    for name, artifact in functions.items():
        total = artifact.unzipped_bytes + layer_bytes
        if total > UNZIPPED_LIMIT:
            raise ValueError(f"{name} with its layers is {total} bytes unzipped, over Lambda's 250 MB")
        lines.append(f"{name}: {_mb(total)} unzipped with layers ({total / UNZIPPED_LIMIT:.1%} of 250 MB)")
    return lines


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One build at a time per working tree: builds share the staging folders (two deploys at
    once, as parallel test workers make, would copy into each other's)."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_all(log=print) -> tuple[dict[str, Artifact], list[Artifact]]:
    """(function packages by service, [dependencies, common, sentry-relay layers]), sizes logged."""
    with _build_lock():
        layers = [build_dependencies_layer(log), build_common_layer(), build_relay_layer()]
        functions = {service: build_function(service) for service in services()}
    for artifact in [*layers, *functions.values()]:
        zipped, unzipped = _mb(artifact.zipped_bytes), _mb(artifact.unzipped_bytes)
        log(f"build: {artifact.key}: {zipped} zipped, {unzipped} unzipped")
    for line in check_limits(functions, layers):
        log(f"build: {line}")
    return functions, layers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.build", description=__doc__)
    parser.parse_args(argv)
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    build_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
