"""`make deploy-aws` / `make destroy-aws`: the product on a real AWS account, with the SAM CLI.

The standard path: `sam build`, `sam deploy` with the committed samconfig.toml and the
stack's parameters, then the page and its config uploaded to the website bucket, the given
MongoDB seeded, Sentry's dashboard and alerts applied when their variables are set, and the
URLs printed. `deploy` requires MONGODB_URI: the demo's data never goes to a default
database. `destroy` needs only the stack's name and region (and AWS credentials): deleting a
stack touches no database, so whoever deployed it can tear it down from any shell.
With AWS_ENDPOINT_URL set (the tests point it at LocalStack) every call goes there instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import urllib.error
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from deploy import sentry_setup, website
from deploy.local import Progress, StepFailedError, empty_bucket, page_bucket
from deploy.seed import SeedSize, seed
from deploy.settings import DeploySettings
from localcloud.services import mongo_client
from localcloud.settings import PROJECT_ROOT

SAMCONFIG = PROJECT_ROOT / "samconfig.toml"
BUILD_DIR = PROJECT_ROOT / ".local" / "aws" / "build"
CACHE_DIR = PROJECT_ROOT / ".local" / "aws" / "cache"
# S3 website endpoints: s3-website-<region> in the regions older than 2014, s3-website.<region>
# in the others (AWS's "Website endpoints" table)
DASH_WEBSITE_REGIONS = frozenset({
    "us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2",
    "ap-northeast-1", "sa-east-1", "us-gov-west-1",
})  # fmt: skip


@dataclass(frozen=True)
class AwsTarget:
    """Where and what to deploy: read from the environment, checked before anything runs."""

    stack: str
    region: str
    mongodb_uri: str  # empty for `destroy`, which needs no database
    endpoint_url: str | None  # LocalStack in the tests; AWS itself when unset
    deploy: DeploySettings

    @classmethod
    def from_env(cls, command: str) -> AwsTarget:
        """The target for `command` ("deploy" or "destroy"): only deploy needs MONGODB_URI, and
        the refusal names the make target that was run."""
        mongodb_uri = os.environ.get("MONGODB_URI", "")
        if command == "deploy" and not mongodb_uri:
            raise SystemExit(
                f"{command}-aws: set MONGODB_URI to the MongoDB the functions use (for example an Atlas "
                "cluster's mongodb+srv:// URI); the demo's data is never put into a default database"
            )
        deploy = DeploySettings.from_env()
        return cls(
            stack=deploy.stack_name,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            mongodb_uri=mongodb_uri,
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            deploy=deploy,
        )

    def client(self, service: str) -> Any:
        session = boto3.session.Session(region_name=self.region)
        return session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def sam_env(self) -> dict[str, str]:
        """The SAM CLI's environment: ours, its telemetry off, this project's Python first on PATH."""
        venv_bin = str(Path(sys.executable).parent)
        return os.environ | {
            "SAM_CLI_TELEMETRY": "0",
            "AWS_DEFAULT_REGION": self.region,
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        }


def parameter_overrides(target: AwsTarget, allowed_origin: str) -> list[str]:
    """The stack's parameters (samconfig.toml holds the fixed ones, such as the dangerous
    scenarios switched off); NoEcho parameters do not show in CloudFormation's console."""
    deploy = target.deploy
    values = {
        "MongoDbUri": target.mongodb_uri,
        "MongoDbDatabase": deploy.database,  # the one the seed step fills
        "SentryDsn": deploy.sentry_dsn,
        "SentryEnvironment": deploy.sentry_environment,
        "SentryRelease": deploy.sentry_release,
        "AllowedOrigin": allowed_origin,
        "DangerousScenariosEnabled": os.environ.get("DANGEROUS_SCENARIOS_ENABLED") or "false",
    }
    if deploy.cpu_spike_limit:
        values["CpuSpikeLimit"] = deploy.cpu_spike_limit
    if deploy.game_engine_timeout:
        values["GameEngineTimeout"] = deploy.game_engine_timeout
    if deploy.sentry_relay_port:
        values["SentryRelayPort"] = deploy.sentry_relay_port
    # an empty value cannot be written Key= on SAM's command line: left out, it is the default ("")
    return [f"{key}={value}" for key, value in values.items() if value]


def _sam(target: AwsTarget, *arguments: str, log: Callable[[str], None]) -> None:
    command = [str(Path(sys.executable).parent / "sam"), *arguments]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=target.sam_env(), capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise StepFailedError(f"sam {arguments[0]}", tail, "the SAM CLI's output above")
    for line in done.stdout.splitlines()[-3:]:
        if line.strip():
            log(f"    {line.strip()}")


def stack_outputs(target: AwsTarget) -> dict[str, str]:
    stacks = target.client("cloudformation").describe_stacks(StackName=target.stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def existing_origin(target: AwsTarget) -> str:
    """The page's origin from a stack deployed before: a redeploy then needs one `sam deploy`,
    and CORS never falls back to no origin in between (the page keeps working)."""
    cloudformation = target.client("cloudformation")
    try:
        return stack_outputs(target).get("WebsiteUrl", "").rstrip("/")
    except cloudformation.exceptions.ClientError:  # no such stack yet
        return ""


def expected_origin(target: AwsTarget) -> str:
    """The page bucket's website origin before the bucket exists (the template names it
    <stack>-page), so that a fresh deploy needs one `sam deploy`; if the stack's WebsiteUrl
    says otherwise, a second deploy corrects CORS."""
    bucket = page_bucket(target.stack)
    if target.endpoint_url:
        return website.website_origin(bucket, urllib.parse.urlsplit(target.endpoint_url).port or 4566)
    separator = "-" if target.region in DASH_WEBSITE_REGIONS else "."
    return f"http://{bucket}.s3-website{separator}{target.region}.amazonaws.com"


def api_url(target: AwsTarget, outputs: dict[str, str]) -> str:
    """The API's base URL: the stack's output on AWS; the path-style URL on LocalStack."""
    if target.endpoint_url:
        return f"{target.endpoint_url.rstrip('/')}/_aws/execute-api/{outputs['ApiId']}/api"
    return outputs["ApiUrl"]


def sam_deploy(target: AwsTarget, allowed_origin: str, log: Callable[[str], None]) -> dict[str, str]:
    _sam(
        target,
        "deploy",
        "--config-file", str(SAMCONFIG),
        "--template-file", str(BUILD_DIR / "template.yaml"),
        "--stack-name", target.stack,
        "--region", target.region,
        "--parameter-overrides", *parameter_overrides(target, allowed_origin),
        log=log,
    )  # fmt: skip
    return stack_outputs(target)


def deploy_aws(target: AwsTarget, log: Callable[[str], None] = print) -> dict[str, str]:
    """Build, deploy, page, seed, Sentry's dashboards; returns the URLs it printed."""
    progress = Progress(6, log)
    progress.step("sam build (layers and functions, from template.yaml)")
    _sam(target, "build", "--template", "template.yaml", "--build-dir", str(BUILD_DIR),
         "--cached", "--cache-dir", str(CACHE_DIR), log=log)  # fmt: skip
    progress.step(f"sam deploy {target.stack} ({target.region})")
    known = existing_origin(target) or expected_origin(target)
    outputs = sam_deploy(target, known, log)
    origin = outputs["WebsiteUrl"].rstrip("/")
    if origin != known:  # CORS for the page's own origin, known once the bucket exists
        outputs = sam_deploy(target, origin, log)
    progress.step("debug page")
    page_config = website.page_config(target.deploy, api_url(target, outputs), spotlight_url="")
    count = website.upload_page(target.client("s3"), outputs["WebsiteBucketName"], page_config)
    log(f"    {count} files in s3://{outputs['WebsiteBucketName']}")
    progress.step("seed data (MONGODB_URI)")
    with mongo_client(target.mongodb_uri, timeout_ms=10_000) as client:
        seed(client[target.deploy.database], SeedSize.from_env(), log=lambda line: log(f"    {line}"))
    progress.step("Sentry dashboard and alert rules")
    apply_sentry(log)
    progress.step("done")
    urls = {"Debug page": outputs["WebsiteUrl"], "API": page_config["apiUrl"]}
    log("")
    for label, url in urls.items():
        log(f"  {label:<12}  {url}")
    return urls


def apply_sentry(log: Callable[[str], None]) -> None:
    missing = [name for name in sentry_setup.REQUIRED if not os.environ.get(name)]
    if missing:
        log(f"    skipped: set {', '.join(missing)} to apply sentry/ to your organisation")
        return
    api = sentry_setup.SentryApi(
        os.environ.get("SENTRY_URL", "https://sentry.io"), os.environ["SENTRY_AUTH_TOKEN"]
    )
    try:
        for request in sentry_setup.apply(api, os.environ["SENTRY_ORG"], os.environ["SENTRY_PROJECT"]):
            log(f"    {request.method} {request.path}")
    except urllib.error.HTTPError as error:
        raise StepFailedError(
            "Sentry setup", f"{error.code} from {error.url}", "Sentry's answer above"
        ) from None


def destroy_aws(target: AwsTarget, log: Callable[[str], None] = print) -> None:
    """Empties the page bucket (CloudFormation cannot delete a full bucket), deletes the stack."""
    try:
        bucket = stack_outputs(target).get("WebsiteBucketName")
    except target.client("cloudformation").exceptions.ClientError:
        log(f"destroy-aws: no stack {target.stack} in {target.region}")
        return
    if bucket:
        empty_bucket(target.client("s3"), bucket)
    _sam(target, "delete", "--stack-name", target.stack, "--region", target.region, "--no-prompts", log=log)
    log(f"destroy-aws: stack {target.stack} deleted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.aws", description=__doc__)
    parser.add_argument("command", choices=["deploy", "destroy"])
    args = parser.parse_args(argv)
    target = AwsTarget.from_env(args.command)
    try:
        if args.command == "deploy":
            deploy_aws(target)
        else:
            destroy_aws(target)
    except StepFailedError as failure:
        print(f"{args.command}-aws: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
