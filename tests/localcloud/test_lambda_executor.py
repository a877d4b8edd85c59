"""The Docker-less executor behaves like AWS Lambda, on a real LocalStack (see DESIGN.md)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localcloud.aws import client
from localcloud.processes import process_start_time
from tests.localcloud.lambdas import (
    deploy_function,
    function_zip,
    helper_layer_zip,
    invoke,
    proxy_api,
    publish_layer,
    report_fields,
    sentry_layer_zip,
)
from tests.support.envelopes import EnvelopeReceiver

pytestmark = pytest.mark.localstack
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lambda_client(localstack_server):
    return client(localstack_server, "lambda")


@pytest.fixture(scope="module")
def helper_layer(lambda_client) -> str:
    return publish_layer(lambda_client, "test-helper", helper_layer_zip())


@pytest.fixture
def probe(lambda_client, helper_layer):
    """A fresh probe function per test, so its first invoke is a cold start."""

    def deploy(**options) -> str:
        name = f"probe-{uuid.uuid4().hex[:8]}"
        deploy_function(
            lambda_client, name, "probe.handler", function_zip("probe"), layers=[helper_layer], **options
        )
        return name

    return deploy


def test_invoke_sees_aws_environment_and_a_well_formed_arn(lambda_client, probe, localstack_server):
    name = probe(memory=256, timeout=7)
    result, error, _ = invoke(lambda_client, name)
    assert error is None
    env = result["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "probe.handler"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{localstack_server.localstack_port}"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert Path(env["LAMBDA_TASK_ROOT"]).is_dir() and result["cwd"] == env["LAMBDA_TASK_ROOT"]
    assert result["function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert 0 < result["remaining_ms"] <= 7000
    assert not any(key.startswith("LOCALSTACK_RUNTIME") for key in env)


def test_layers_import_from_opt_after_the_task_root(lambda_client, probe):
    result, _, _ = invoke(lambda_client, probe())
    task_root = result["env"]["LAMBDA_TASK_ROOT"]
    path = [entry for entry in result["sys_path"] if entry]
    assert path[0] == task_root
    opt_entries = [
        entry for entry in path if entry.endswith(("/python", "/python/lib/python3.13/site-packages"))
    ]
    assert opt_entries[0].endswith("/python/lib/python3.13/site-packages")
    assert result["layer"].startswith(opt_entries[1])
    assert path.index(task_root) < path.index(opt_entries[0]) < path.index(opt_entries[1])


def test_nothing_from_the_project_environments_leaks_into_a_function(lambda_client, probe):
    result, _, _ = invoke(lambda_client, probe())
    modules = result["modules"]
    assert modules["awslambdaric"] and modules["boto3"], "the runtime provides awslambdaric and boto3"
    for name in ("pytest", "sentry_sdk", "localstack", "chalice", "pymongo"):
        assert modules[name] is None, f"{name} leaked into the function from {modules[name]}"
    assert "VIRTUAL_ENV" not in result["env"]
    for entry in result["sys_path"]:
        assert "/.venv/" not in entry and "venv-localstack" not in entry


def test_first_invoke_is_cold_and_the_next_reuses_the_process(lambda_client, probe):
    name = probe()
    cold, _, cold_log = invoke(lambda_client, name)
    warm, _, warm_log = invoke(lambda_client, name)
    assert "Init Duration" in report_fields(cold_log)
    assert "Init Duration" not in report_fields(warm_log)
    assert "probe: module initialised" in cold_log and "probe: module initialised" not in warm_log
    assert warm["pid"] == cold["pid"] and warm["initialised_at"] == cold["initialised_at"]


def test_report_line_has_measured_fields(lambda_client, probe):
    _, _, log = invoke(lambda_client, probe(memory=192))
    fields = report_fields(log)
    assert re.fullmatch(r"\d+\.\d{2} ms", fields["Duration"])
    assert re.fullmatch(r"\d+ ms", fields["Billed Duration"])
    assert fields["Memory Size"] == "192 MB"
    used = int(fields["Max Memory Used"].removesuffix(" MB"))
    assert 5 < used < 192, "a bare Python runtime measures a few MB up to a few tens"
    assert float(fields["Init Duration"].removesuffix(" ms")) > 0


def test_handler_exception_is_reported_as_aws_does(lambda_client, probe):
    payload, error, log = invoke(lambda_client, probe(), {"raise": "bad spin"})
    assert error == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "bad spin"
    assert any("probe.py" in frame for frame in payload["stackTrace"])
    assert "[ERROR] ValueError: bad spin" in log


def test_import_error_is_reported_as_aws_does(lambda_client):
    name = f"broken-{uuid.uuid4().hex[:8]}"
    deploy_function(lambda_client, name, "broken.handler", function_zip("broken"))
    for _ in range(2):  # and again: the next invoke initialises again and fails the same way
        payload, error, log = invoke(lambda_client, name)
        assert error == "Unhandled"
        assert payload["errorType"] == "Runtime.ImportModuleError"
        assert "No module named 'module_that_does_not_exist'" in payload["errorMessage"]
        assert "Runtime.ImportModuleError" in log


def test_timeout_kills_the_environment_and_the_next_invoke_is_cold(lambda_client, probe):
    name = probe(timeout=2)
    before, error, _ = invoke(lambda_client, name)
    assert error is None, before
    started = time.monotonic()
    payload, error, log = invoke(lambda_client, name, {"busy_seconds": 30})
    elapsed = time.monotonic() - started
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
    assert "Task timed out after 2.00 seconds" in log and "Status: timeout" in log
    assert elapsed < 10, "the invoke ends at the deadline, not when the work would have ended"
    assert process_start_time(before["pid"]) is None, "the timed-out runtime process is gone"
    after, error, log = invoke(lambda_client, name)
    assert error is None and after["pid"] != before["pid"]
    assert "Init Duration" in report_fields(log)


def test_memory_above_memory_size_kills_the_runtime(lambda_client, probe):
    name = probe(memory=128)
    before, error, _ = invoke(lambda_client, name)
    assert error is None, before
    payload, error, log = invoke(lambda_client, name, {"allocate_mb": 300})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in payload["errorMessage"]
    used = int(report_fields(log)["Max Memory Used"].removesuffix(" MB"))
    assert used > 128, "Max Memory Used shows the measured peak that crossed MemorySize"
    assert process_start_time(before["pid"]) is None
    after, error, log = invoke(lambda_client, name)
    assert error is None and after["pid"] != before["pid"]
    assert int(report_fields(log)["Max Memory Used"].removesuffix(" MB")) < 128


def test_function_output_and_report_lines_reach_cloudwatch_logs(lambda_client, probe, localstack_server):
    name = probe()
    result, _, _ = invoke(lambda_client, name, {"hello": "logs"})
    logs = client(localstack_server, "logs")
    group = f"/aws/lambda/{name}"
    deadline = time.monotonic() + 15
    messages: list[str] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        messages = [event["message"] for event in events]
        if any(m.startswith("REPORT") for m in messages):
            break
        time.sleep(0.3)
    text = "".join(messages)
    request_id = result["request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in text
    assert 'probe: handling {"hello": "logs"}' in text
    assert f"END RequestId: {request_id}" in text
    assert f"REPORT RequestId: {request_id}" in text and "Init Duration" in text
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"]
    assert stream == result["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]


def test_concurrent_invokes_get_separate_environments(lambda_client, probe):
    name = probe(timeout=10)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: invoke(lambda_client, name, {"busy_seconds": 1.5}), range(3)))
    pids = {payload["pid"] for payload, error, _ in results}
    assert all(error is None for _, error, _ in results)
    assert len(pids) == 3


# idle environments reaped after the keep-alive: test_capacity.py (an 8 s keep-alive there, not
# this cloud's 20 s)


def _http_get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        return response.status, response.read()


def test_api_gateway_proxy_integration_invokes_the_function(lambda_client, helper_layer, localstack_server):
    name = f"api-{uuid.uuid4().hex[:8]}"
    arn = deploy_function(
        lambda_client, name, "probe.api_handler", function_zip("probe"), layers=[helper_layer]
    )
    apigw = client(localstack_server, "apigateway")
    api_id = proxy_api(apigw, name, arn)
    url = f"{localstack_server.localstack_url}/_aws/execute-api/{api_id}/test/hello/world"
    status, body = _http_get(url)
    assert status == 200
    assert json.loads(body)["path"] == "/hello/world"


SAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  LayerArn: {Type: String}
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: probe.api_handler
      CodeUri: s3://BUCKET/probe.zip
      Layers: [!Ref LayerArn]
      Timeout: 5
      MemorySize: 128
      Events:
        Get:
          Type: Api
          Properties: {Path: /hello, Method: get}
Outputs:
  ApiId: {Value: !Ref ServerlessRestApi}
"""


def test_sam_template_deploys_through_cloudformation(helper_layer, localstack_server):
    bucket = f"sam-{uuid.uuid4().hex[:8]}"
    s3 = client(localstack_server, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="probe.zip", Body=function_zip("probe"))
    cloudformation = client(localstack_server, "cloudformation")
    stack = f"sam-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=SAM_TEMPLATE.replace("BUCKET", bucket),
        Parameters=[{"ParameterKey": "LayerArn", "ParameterValue": helper_layer}],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    api_id = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiId")
    status, body = _http_get(f"{localstack_server.localstack_url}/_aws/execute-api/{api_id}/Prod/hello")
    assert status == 200 and json.loads(body)["method"] == "GET"


def test_sentry_sdk_sends_a_function_transaction_and_a_timeout_warning(lambda_client):
    layer = publish_layer(lambda_client, "test-sentry-sdk", sentry_layer_zip())
    with EnvelopeReceiver() as receiver:
        name = f"sentried-{uuid.uuid4().hex[:8]}"
        deploy_function(
            lambda_client,
            name,
            "sentried.handler",
            function_zip("sentried"),
            layers=[layer],
            timeout=3,
            # one vCPU: at 128 MB (a fourteenth of one) the busy loop starves the warning's thread,
            # as it would on AWS
            memory=1769,
            env={"SENTRY_DSN": receiver.dsn},
        )
        _, error, _ = invoke(lambda_client, name, {"busy_seconds": 0.2})
        assert error is None
        transaction = receiver.wait_for("transaction", lambda t: t["transaction"] == name)
        assert transaction["contexts"]["trace"]["op"] == "function.aws"
        assert any(span["op"] == "test.work" for span in transaction["spans"])
        assert transaction["tags"]["aws_region"] == "us-east-1"

        payload, error, _ = invoke(lambda_client, name, {"busy_seconds": 30})
        assert error == "Unhandled" and "Task timed out after 3.00 seconds" in payload["errorMessage"]
        warning = receiver.wait_for(
            "event",
            lambda e: any(
                v.get("type") == "ServerlessTimeoutWarning" for v in e.get("exception", {}).get("values", [])
            ),
        )
        message = warning["exception"]["values"][0]["value"]
        assert "Configured timeout duration = 3 seconds" in message


def provisioned(lambda_client, env: dict[str, str]) -> str:
    """A published version with one provisioned environment; its qualified name once the
    configuration has left IN_PROGRESS."""
    name = f"provisioned-{uuid.uuid4().hex[:8]}"
    deploy_function(lambda_client, name, "provisioned.handler", function_zip("provisioned"), env=env)
    version = lambda_client.publish_version(FunctionName=name)["Version"]
    lambda_client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    return f"{name}:{version}"


def provisioned_status(lambda_client, qualified: str, timeout: float = 60.0) -> str:
    name, version = qualified.split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        config = lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)
        if config["Status"] != "IN_PROGRESS":
            return config["Status"]
        time.sleep(0.2)
    return "IN_PROGRESS"


def test_provisioned_concurrency_initialises_before_the_first_invoke(lambda_client):
    qualified = provisioned(lambda_client, {})
    assert provisioned_status(lambda_client, qualified) == "READY"
    payload, error, tail = invoke(lambda_client, qualified)
    assert error is None and payload == "provisioned-concurrency"
    assert "Init Duration" not in report_fields(tail), "its Init ran ahead, as on AWS"


def test_a_provisioned_init_that_fails_is_failed_and_invokes_run_on_demand(lambda_client):
    """AWS's recorded answer (test_provisioned_concurrency_init_failure): FAILED, on-demand."""
    qualified = provisioned(lambda_client, {"FAIL_PROVISIONED": "1"})
    assert provisioned_status(lambda_client, qualified) == "FAILED"
    payload, error, _ = invoke(lambda_client, qualified)
    assert error is None and payload == "on-demand"
