"""`make deploy-aws` end to end, on the test LocalStack instead of AWS (AWS_ENDPOINT_URL):
the SAM CLI builds and deploys the template, the page and its config are uploaded, the given
MongoDB is seeded, the routes answer, and `make destroy-aws` removes it all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pymongo
import pytest

from localcloud import aws, http
from slot_common.data_model import GAME_HISTORY, GAMES, USERS
from tests.conftest import TEST_SETTINGS

pytestmark = pytest.mark.localstack
PROJECT = TEST_SETTINGS.tools_dir.parent


def run_aws(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.aws", command],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def aws_env(localstack_server, mongo_server) -> dict[str, str]:
    return {
        key: value for key, value in os.environ.items() if not key.startswith(("SENTRY_", "MONGODB_", "AWS_"))
    } | {
        "AWS_ENDPOINT_URL": localstack_server.localstack_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": localstack_server.region,
        "STACK_NAME": f"aws-{uuid.uuid4().hex[:6]}",
        "MONGODB_URI": mongo_server,
        "MONGODB_DATABASE": f"aws_{uuid.uuid4().hex[:8]}",
        # a small seed: this pins that deploy-aws seeds the given database, not the demo's size
        # (SeedSize's default; seeding 120,000 games took 50 s of this test)
        "SEED_GAMES": "3000",
        "SEED_HISTORY_PER_USER": "100",
        # the SAM CLI's own setting: how often it reads the stack's events while it waits (5 s by
        # default, for AWS's API limits); LocalStack is done within a second
        "SAM_CLI_POLL_DELAY": "0.5",
    }


def test_deploy_aws_end_to_end_then_destroy(aws_env, localstack_server):
    started = time.monotonic()
    deployed = run_aws("deploy", aws_env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    fresh_s = time.monotonic() - started
    for step in ("sam build", "sam deploy", "debug page", "seed data", "Sentry dashboard", "done"):
        assert step in deployed.stdout, step
    assert "skipped: set SENTRY_AUTH_TOKEN" in deployed.stdout
    # the page's origin is known before its bucket exists: one `sam deploy` from nothing too
    assert deployed.stdout.count("Successfully created/updated stack") == 1, deployed.stdout[-2000:]
    with pymongo.MongoClient(aws_env["MONGODB_URI"], serverSelectionTimeoutMS=5000) as mongo:
        seeded = mongo[aws_env["MONGODB_DATABASE"]]
        assert seeded[GAMES].count_documents({}) == 3000, "SEED_GAMES sizes the seed"
        assert seeded[GAME_HISTORY].count_documents({}) == 100 * 10, "SEED_HISTORY_PER_USER too"
        # the functions must read this database (MONGODB_DATABASE), not the default one, which
        # other tests on this MongoDB fill too
        seeded[USERS].update_one({"_id": "user_1"}, {"$set": {"balance": 4321}})
    api = next(line.split()[-1] for line in deployed.stdout.splitlines() if line.strip().startswith("API"))

    balance = http.request(f"{api}/api/v1/users/user_1/balance", timeout=60)
    assert balance.status == 200 and balance.json()["balance"] == 4321, balance
    dangerous = http.request(
        f"{api}/api/v1/scenarios/timeout", "POST", b'{"user_id": "user_1", "bet": 1}',
        {"Content-Type": "application/json"}, timeout=60,
    )  # fmt: skip
    assert dangerous.status == 403, "DangerousScenariosEnabled is false on AWS by default"

    s3 = aws.client(localstack_server, "s3")
    bucket = f"{aws_env['STACK_NAME']}-page"
    config = s3.get_object(Bucket=bucket, Key="config.js")["Body"].read().decode()
    page = json.loads(config.split("=", 1)[1].rstrip().rstrip(";"))
    assert page["apiUrl"] == api and page["spotlightUrl"] == "" and page["scenarios"]
    cloudformation = aws.client(localstack_server, "cloudformation")
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue")
        for p in cloudformation.describe_stacks(StackName=aws_env["STACK_NAME"])["Stacks"][0]["Parameters"]
    }
    assert parameters["MongoDbUri"] != aws_env["MONGODB_URI"], "the URI is a NoEcho parameter"

    started = time.monotonic()
    again = run_aws("deploy", aws_env)
    assert again.returncode == 0, again.stderr[-2000:]
    again_s = time.monotonic() - started
    # a redeploy knows the page's origin: one `sam deploy`, CORS never without the origin
    assert again.stdout.count("Successfully created/updated stack") == 1, again.stdout[-2000:]
    print(f"deploy-aws on LocalStack: fresh {fresh_s:.0f} s, again with no change {again_s:.0f} s")

    # from another shell, one without the database's URI: deleting a stack needs none
    destroyed = run_aws("destroy", {k: v for k, v in aws_env.items() if k != "MONGODB_URI"})
    assert destroyed.returncode == 0, destroyed.stderr[-2000:]
    summaries = cloudformation.list_stacks()["StackSummaries"]
    remaining = [
        s["StackName"]
        for s in summaries
        if s["StackName"] == aws_env["STACK_NAME"] and s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert remaining == []
