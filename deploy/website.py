"""Upload the debug page to the website bucket, with a generated configuration."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from demo.scenario_catalog import page_table
from deploy import template
from deploy.settings import DeploySettings
from localcloud.settings import PROJECT_ROOT

PAGE_DIR = PROJECT_ROOT / "frontend" / "dist"
CONFIG_FILE = "config.js"


def page_files(page_dir: Path = PAGE_DIR) -> dict[str, Path]:
    if not (page_dir / "index.html").exists():
        raise FileNotFoundError(f"{page_dir}/index.html is missing: run `make page` to build the debug page")
    return {
        path.relative_to(page_dir).as_posix(): path
        for path in sorted(page_dir.rglob("*"))
        if path.is_file() and path.name != CONFIG_FILE
    }


def page_config(deploy: DeploySettings, api_url: str, spotlight_url: str) -> dict[str, Any]:
    """What the page is told about the stack it drives, for both deploy targets."""
    timeout = template.parameter_value(
        template.load(), "GameEngineTimeout", {"GameEngineTimeout": deploy.game_engine_timeout}
    )
    return {
        "apiUrl": api_url,
        "spotlightUrl": spotlight_url,
        "sentryDsn": deploy.sentry_browser_dsn,
        "sentryOrgUrl": deploy.sentry_org_url,
        "environment": deploy.sentry_environment,
        "release": deploy.sentry_release,
        "users": [f"user_{number}" for number in range(1, 11)],
        "gameEngineTimeoutS": int(timeout),  # the timeout card names the deployed Timeout
        **page_table(),  # the scenario catalog: buttons, requests, "Look for" lines, Sentry verdicts
    }


def config_script(config: dict[str, Any]) -> bytes:
    """The page reads everything environment-specific from window.SLOT_CONFIG."""
    return f"window.SLOT_CONFIG = {json.dumps(config, indent=2, sort_keys=True)};\n".encode()


def content_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (
        f"{guessed}; charset=utf-8"
        if guessed.startswith("text/") or guessed.endswith("javascript")
        else guessed
    )


def upload_page(s3: Any, bucket: str, config: dict[str, Any], page_dir: Path = PAGE_DIR) -> int:
    """Puts every page file and config.js; returns how many objects were written."""
    objects = {name: path.read_bytes() for name, path in page_files(page_dir).items()}
    objects[CONFIG_FILE] = config_script(config)
    for name, body in objects.items():
        s3.put_object(
            Bucket=bucket, Key=name, Body=body, ContentType=content_type(name), CacheControl="no-cache"
        )
    return len(objects)


def website_origin(bucket: str, port: int) -> str:
    """LocalStack's S3 website endpoint; *.localhost.localstack.cloud must resolve to 127.0.0.1."""
    return f"http://{bucket}.s3-website.localhost.localstack.cloud:{port}"


def path_style_page_url(bucket: str, port: int) -> str:
    """Works on every machine: no DNS needed (served by the S3 API, same origin as the API)."""
    return f"http://127.0.0.1:{port}/{bucket}/index.html"
