"""`make deploy-local` and `make destroy-local`: the whole stack on the local cloud.

Steps: local services, build, upload artifacts, CloudFormation (SAM transform), seed data,
debug page. Each step prints its progress; a failure names the step and the log to read,
and exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from deploy import build, stack, template, website
from deploy.seed import SeedSize, seed
from deploy.settings import DeploySettings
from localcloud import aws
from localcloud.processes import ServiceError
from localcloud.services import all_services, cors_allows, mongo_client, start_all
from localcloud.settings import PROJECT_ROOT, Settings


def database_name() -> str:
    """The demo's database: MONGODB_DATABASE, else the data model's default."""
    return DeploySettings.from_env().database


@dataclass(frozen=True)
class Deployment:
    stack_name: str
    stack_change: str
    api_id: str
    api_url: str
    page_url: str
    website_url: str
    trace_viewer_url: str
    functions: dict[str, str]


def stack_name() -> str:
    return DeploySettings.from_env().stack_name


def page_bucket(name: str) -> str:
    return f"{name}-page"


def api_base_url(settings: Settings, api_id: str) -> str:
    """Path-style: needs no DNS (the virtual host <id>.execute-api.localhost.localstack.cloud does)."""
    return f"{settings.localstack_url}/_aws/execute-api/{api_id}/api"


class StepFailedError(RuntimeError):
    def __init__(self, step: str, detail: str, log_hint: str) -> None:
        super().__init__(f"{step} failed: {detail}\n    read: {log_hint}")


class Progress:
    def __init__(self, total: int, log: Callable[[str], None]) -> None:
        self.total, self.number, self.log = total, 0, log
        self.started = time.monotonic()

    def step(self, title: str) -> None:
        self.number += 1
        self.log(f"==> [{self.number}/{self.total}] {title} (+{time.monotonic() - self.started:.1f} s)")


def ensure_services(settings: Settings, log: Callable[[str], None]) -> None:
    services = all_services(settings)
    for name, (state, _seconds) in start_all(services).items():
        if isinstance(state, ServiceError):
            raise StepFailedError(
                f"starting {name}", str(state).splitlines()[0], str(services[name].log_path)
            ) from None
        log(f"    {name}: {state}")


def ensure_spotlight_allows(settings: Settings, origin: str, log: Callable[[str], None]) -> None:
    """The page sends its browser envelopes to Spotlight: its origin must pass Spotlight's CORS."""
    url = f"{settings.spotlight_url}/stream"
    if cors_allows(url, origin):
        return
    service = all_services(settings).get("spotlight")
    if service is None or service.pid() is None:
        log(f"    warning: Spotlight at {settings.spotlight_url} refuses {origin}")
        log("    (start it with SPOTLIGHT_ALLOWED_ORIGINS set to that origin)")
        return
    log("    spotlight: restarting to allow the page's origin")
    service.stop()
    service.start()


def upload_artifacts(s3: Any, bucket: str, artifacts: list[build.Artifact]) -> dict[str, str]:
    """Content-addressed keys: an unchanged artifact is neither uploaded nor changed."""
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)
    locations = {}
    for artifact in artifacts:
        try:
            s3.head_object(Bucket=bucket, Key=artifact.key)
        except s3.exceptions.ClientError:
            s3.upload_file(str(artifact.path), bucket, artifact.key)
        locations[artifact.name] = f"s3://{bucket}/{artifact.key}"
    return locations


def code_locations(
    functions: dict[str, build.Artifact], layers: list[build.Artifact], uploaded: dict[str, str]
) -> dict[str, str]:
    """template folder -> s3 location, for template.package()."""
    locations = {f"functions/{name}": uploaded[artifact.name] for name, artifact in functions.items()}
    locations["layers/dependencies"] = uploaded["dependencies-layer"]
    locations["layers/common"] = uploaded["common-layer"]
    locations["layers/sentry-relay"] = uploaded["sentry-relay-layer"]
    return locations


def stack_parameters(settings: Settings, name: str) -> dict[str, str]:
    deploy = DeploySettings.from_env()
    parameters = {
        "MongoDbUri": settings.effective_mongodb_uri,
        "MongoDbDatabase": deploy.database,  # the one seed_database fills
        "SentryDsn": deploy.sentry_dsn,
        "SentrySpotlight": f"{settings.spotlight_url}/stream",
        "SentryEnvironment": deploy.sentry_environment,
        "SentryRelease": deploy.sentry_release,
        "AllowedOrigin": website.website_origin(page_bucket(name), settings.localstack_port),
        "DangerousScenariosEnabled": deploy.dangerous_scenarios_enabled,
    }
    if deploy.cpu_spike_limit:
        parameters["CpuSpikeLimit"] = deploy.cpu_spike_limit
    if deploy.game_engine_timeout:
        parameters["GameEngineTimeout"] = deploy.game_engine_timeout
    if deploy.sentry_relay_port:
        parameters["SentryRelayPort"] = deploy.sentry_relay_port
    parameters["LocalCodeRoot"] = str(PROJECT_ROOT) if deploy.hot_reload else ""
    return parameters


def deploy_local(
    settings: Settings,
    name: str | None = None,
    seed_size: SeedSize | None = None,
    log: Callable[[str], None] = print,
) -> Deployment:
    """Everything from a fresh clone, step by step; a failed step names the log to read."""
    name = name or stack_name()
    progress = Progress(6, log)
    progress.step("local services (LocalStack, MongoDB, Spotlight)")
    origin = website.website_origin(page_bucket(name), settings.localstack_port)
    settings = replace(settings, spotlight_allowed_origins=(*settings.spotlight_allowed_origins, origin))
    ensure_services(settings, log)
    ensure_spotlight_allows(settings, origin, log)
    progress.step("build layers and function packages")
    try:
        functions, layers = build.build_all(log=lambda line: log(f"    {line}"))
    except Exception as error:
        raise StepFailedError("build", str(error), "the output above (pip)") from error
    # the database before the stack: a deploy whose MongoDB cannot be reached leaves the stack
    # (and the database its functions use) as it was
    progress.step("seed data")
    seed_database(settings, seed_size or SeedSize.from_env(), log)
    progress.step(f"deploy stack {name} (CloudFormation, SAM transform)")
    change, outputs, resources = deploy_stack(settings, name, functions, layers, log)
    progress.step("debug page")
    api_url = api_base_url(settings, outputs["ApiId"])
    bucket = outputs["WebsiteBucketName"]
    upload_page(settings, bucket, api_url, log)
    progress.step("done")
    return Deployment(
        stack_name=name,
        stack_change=change,
        api_id=outputs["ApiId"],
        api_url=api_url,
        page_url=website.path_style_page_url(bucket, settings.localstack_port),
        website_url=f"{website.website_origin(bucket, settings.localstack_port)}/",
        trace_viewer_url=settings.spotlight_url,
        functions={k: v for k, v in resources.items() if k.endswith("Function")},
    )


def deploy_stack(
    settings: Settings,
    name: str,
    functions: dict[str, build.Artifact],
    layers: list[build.Artifact],
    log: Callable[[str], None],
) -> tuple[str, dict[str, str], dict[str, str]]:
    """(change, outputs, physical ids): artifacts uploaded by content, the stack created,
    updated or left as it is."""
    s3, cloudformation = aws.client(settings, "s3"), aws.client(settings, "cloudformation")
    try:
        uploaded = upload_artifacts(s3, f"{name}-artifacts", [*layers, *functions.values()])
        body = template.package(template.load(), code_locations(functions, layers, uploaded))
        if stack.api_definition_changed(cloudformation, name, body):
            # LocalStack cannot update a SAM API's stage in place (its update handler is not
            # implemented): the stack holds no data, so it is recreated instead
            log("    the API's routes changed: recreating the stack")
            empty_bucket(s3, page_bucket(name))
            stack.delete(cloudformation, name)
        change = stack.deploy(cloudformation, name, body, stack_parameters(settings, name))
        outputs, resources = stack.outputs(cloudformation, name), stack.physical_ids(cloudformation, name)
    except (stack.StackError, s3.exceptions.ClientError) as error:
        raise StepFailedError(
            "stack deploy", str(error), str(settings.local_dir / "run" / "localstack.log")
        ) from None
    log(f"    stack {name}: {change}")
    return change, outputs, resources


def seed_database(settings: Settings, size: SeedSize, log: Callable[[str], None]) -> None:

    try:
        with mongo_client(settings.effective_mongodb_uri) as client:
            seed(client[database_name()], size, log=lambda m: log(f"    {m}"))
    except Exception as error:
        raise StepFailedError("seed", str(error), str(settings.local_dir / "run" / "mongo.log")) from None


def upload_page(settings: Settings, bucket: str, api_url: str, log: Callable[[str], None]) -> None:
    s3 = aws.client(settings, "s3")
    try:
        count = website.upload_page(
            s3, bucket, website.page_config(DeploySettings.from_env(), api_url, settings.spotlight_url)
        )
    except (FileNotFoundError, s3.exceptions.ClientError) as error:
        raise StepFailedError(
            "page upload", str(error), str(settings.local_dir / "run" / "localstack.log")
        ) from None
    log(f"    {count} files in s3://{bucket}")


def describe_deployment(settings: Settings, name: str | None = None) -> Deployment:
    """The deployment already on the local cloud (for make scenarios, bench, logs)."""
    name = name or stack_name()
    cloudformation = aws.client(settings, "cloudformation")
    if stack.stack_status(cloudformation, name) is None:
        raise SystemExit(f"stack {name} is not deployed: run `make deploy-local` first")
    outputs = stack.outputs(cloudformation, name)
    resources = stack.physical_ids(cloudformation, name)
    bucket = outputs["WebsiteBucketName"]
    return Deployment(
        stack_name=name,
        stack_change="existing",
        api_id=outputs["ApiId"],
        api_url=api_base_url(settings, outputs["ApiId"]),
        page_url=website.path_style_page_url(bucket, settings.localstack_port),
        website_url=f"{website.website_origin(bucket, settings.localstack_port)}/",
        trace_viewer_url=settings.spotlight_url,
        functions={k: v for k, v in resources.items() if k.endswith("Function")},
    )


def print_urls(deployment: Deployment, log: Callable[[str], None] = print) -> None:
    log("")
    log(f"  Debug page    {deployment.page_url}")
    log(f"  API           {deployment.api_url}")
    log(f"  Trace viewer  {deployment.trace_viewer_url}   (Spotlight)")
    log(f"  Website URL   {deployment.website_url}")
    log("                (needs *.localhost.localstack.cloud -> 127.0.0.1, see README 'Opening the page')")


def empty_bucket(s3: Any, bucket: str) -> None:
    try:
        objects = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    except s3.exceptions.ClientError:
        return
    for item in objects:
        s3.delete_object(Bucket=bucket, Key=item["Key"])


def destroy_local(settings: Settings, name: str | None = None, log: Callable[[str], None] = print) -> bool:
    name = name or stack_name()
    s3, cloudformation = aws.client(settings, "s3"), aws.client(settings, "cloudformation")
    empty_bucket(s3, page_bucket(name))
    artifacts = f"{name}-artifacts"
    empty_bucket(s3, artifacts)
    with contextlib.suppress(s3.exceptions.ClientError):
        s3.delete_bucket(Bucket=artifacts)
    deleted = stack.delete(cloudformation, name)
    log(f"stack {name}: {'deleted' if deleted else 'did not exist'}")
    return deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__)
    parser.add_argument("command", choices=["deploy", "destroy"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "deploy":
            started = time.monotonic()
            deployment = deploy_local(settings)
            print_urls(deployment)
            print(
                f"\ndeploy-local finished in {time.monotonic() - started:.1f} s ({deployment.stack_change})"
            )
        else:
            destroy_local(settings)
    except StepFailedError as failure:
        print(f"\ndeploy-local FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
