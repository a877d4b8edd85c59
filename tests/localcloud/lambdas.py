"""Build and deploy small test functions and layers on the test LocalStack."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from lambda_process_executor.report import report_fields as parse_report

FUNCTIONS = Path(__file__).parent / "functions"
ROLE = "arn:aws:iam::000000000000:role/lambda-test-role"


def zip_tree(entries: dict[str, Path]) -> bytes:
    """A zip archive from {archive name: file or folder}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in entries.items():
            if source.is_dir():
                for path in sorted(source.rglob("*")):
                    if path.is_file() and "__pycache__" not in path.parts:
                        archive.write(path, f"{name}/{path.relative_to(source)}")
            else:
                archive.write(source, name)
    return buffer.getvalue()


def function_zip(*modules: str) -> bytes:
    return zip_tree({f"{module}.py": FUNCTIONS / f"{module}.py" for module in modules})


def helper_layer_zip() -> bytes:
    return zip_tree({"python/layer_helper.py": FUNCTIONS / "layer_helper.py"})


def sentry_layer_zip() -> bytes:
    """sentry-sdk and certifi from the dev environment (pure Python), packaged as a layer."""
    import certifi
    import sentry_sdk

    return zip_tree(
        {
            "python/sentry_sdk": Path(sentry_sdk.__file__).parent,
            "python/certifi": Path(certifi.__file__).parent,
        }
    )


def publish_layer(lambda_client: Any, name: str, content: bytes) -> str:
    return lambda_client.publish_layer_version(
        LayerName=name, Content={"ZipFile": content}, CompatibleRuntimes=["python3.13"]
    )["LayerVersionArn"]


def deploy_function(
    lambda_client: Any,
    name: str,
    handler: str,
    code: bytes,
    *,
    layers: list[str] | None = None,
    timeout: int = 10,
    memory: int = 128,
    env: dict[str, str] | None = None,
) -> str:
    with contextlib.suppress(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.delete_function(FunctionName=name)
    arn = lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": code},
        Timeout=timeout,
        MemorySize=memory,
        Layers=layers or [],
        Environment={"Variables": env or {}},
    )["FunctionArn"]
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name)
    return arn


def invoke(lambda_client: Any, name: str, event: dict | None = None) -> tuple[Any, str | None, str]:
    """(decoded payload, FunctionError, the log tail with its REPORT line)."""
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    payload = json.loads(response["Payload"].read() or b"null")
    log_tail = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
    return payload, response.get("FunctionError"), log_tail


def report_fields(log_tail: str) -> dict[str, str]:
    """The REPORT line's fields, read by the executor's own parser."""
    fields = parse_report(log_tail)
    assert fields, f"no REPORT line in:\n{log_tail}"
    return fields


def proxy_api(apigw: Any, name: str, function_arn: str, stage: str = "test") -> str:
    """A REST API whose every path goes to ``function_arn`` (AWS_PROXY); returns its id."""
    api_id = apigw.create_rest_api(name=name)["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName=stage)
    return api_id
