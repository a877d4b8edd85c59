"""Create or update a CloudFormation stack through a change set: no change, no update."""

from __future__ import annotations

import json
import time
from typing import Any

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class StackError(RuntimeError):
    pass


def stack_status(cloudformation: Any, name: str) -> str | None:
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def _wait(cloudformation: Any, name: str, describe, done: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = describe()
        status = state.get("Status") or state.get("StackStatus")
        if status in done or status.endswith(("_COMPLETE", "FAILED")):
            return state
        if time.monotonic() > deadline:
            raise StackError(f"{name}: still {status} after {timeout:.0f} s")
        time.sleep(0.5)


def failure_reasons(cloudformation: Any, name: str) -> list[str]:
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return [
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
        for event in events
        if event["ResourceStatus"].endswith("FAILED")
    ]


def deploy(
    cloudformation: Any, name: str, template_body: str, parameters: dict[str, str], timeout: float = 600
) -> str:
    """'created', 'updated' or 'unchanged'; raises StackError with the reasons on failure."""
    status = stack_status(cloudformation, name)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "CREATE_FAILED"):
        cloudformation.delete_stack(StackName=name)
        _wait(cloudformation, name, lambda: _status_or_deleted(cloudformation, name), {"DELETED"}, timeout)
        status = None
    change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS", "DELETE_COMPLETE") else "UPDATE"
    change_set = f"deploy-{int(time.time() * 1000)}"
    try:
        cloudformation.create_change_set(
            StackName=name,
            ChangeSetName=change_set,
            ChangeSetType=change_type,
            TemplateBody=template_body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
            Capabilities=CAPABILITIES,
        )
    except cloudformation.exceptions.ClientError as error:
        if any(marker in str(error) for marker in NO_CHANGES):  # some implementations refuse at once
            return "unchanged"
        raise StackError(f"{name}: {error}") from None
    described = _wait(
        cloudformation,
        name,
        lambda: cloudformation.describe_change_set(StackName=name, ChangeSetName=change_set),
        {"CREATE_COMPLETE", "FAILED"},
        timeout,
    )
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES) or (
            change_type == "UPDATE" and not described.get("Changes")
        ):
            cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
            return "unchanged"
        raise StackError(f"{name}: change set failed: {reason}")
    if change_type == "UPDATE" and not described.get("Changes"):
        cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
        return "unchanged"
    cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
    final = _wait(
        cloudformation,
        name,
        lambda: cloudformation.describe_stacks(StackName=name)["Stacks"][0],
        {"CREATE_COMPLETE", "UPDATE_COMPLETE"},
        timeout,
    )
    if final["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        reasons = "; ".join(failure_reasons(cloudformation, name)) or final.get("StackStatusReason", "")
        raise StackError(f"{name}: {final['StackStatus']}: {reasons}")
    return "created" if change_type == "CREATE" else "updated"


def _status_or_deleted(cloudformation: Any, name: str) -> dict[str, str]:
    return {"Status": stack_status(cloudformation, name) or "DELETED"}


def _api_definition(template: dict[str, Any]) -> str:
    """What a SAM API's stage is built from: the API resource and every function's API events."""
    parts = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Api":
            parts[logical_id] = properties
        elif resource.get("Type") == "AWS::Serverless::Function":
            parts[logical_id] = properties.get("Events", {})
    return json.dumps(parts, sort_keys=True)


def api_definition_changed(cloudformation: Any, name: str, template_body: str) -> bool:
    """True when the deployed stack's API differs from the one in ``template_body``."""
    if stack_status(cloudformation, name) not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return False
    deployed = cloudformation.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    if isinstance(deployed, str):
        deployed = json.loads(deployed)
    return _api_definition(deployed) != _api_definition(json.loads(template_body))


def outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def physical_ids(cloudformation: Any, name: str) -> dict[str, str]:
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    return {resource["LogicalResourceId"]: resource["PhysicalResourceId"] for resource in resources}


def delete(cloudformation: Any, name: str, timeout: float = 300) -> bool:
    if stack_status(cloudformation, name) is None:
        return False
    cloudformation.delete_stack(StackName=name)
    final = _wait(
        cloudformation, name, lambda: _status_or_deleted(cloudformation, name), {"DELETED"}, timeout
    )
    if final["Status"] not in ("DELETED", "DELETE_COMPLETE"):
        raise StackError(f"{name}: {final['Status']}")
    return True
