"""Read template.yaml (CloudFormation short tags included) and what the tooling needs from it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from localcloud.settings import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"
_TAGS = {"Ref": "Ref", "Condition": "Condition"}


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns !Ref, !Sub, !GetAtt, ... into their long JSON form."""


def _construct(tag: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        key = tag if tag in _TAGS else f"Fn::{tag}"
        return {key: value}

    return construct


for _tag in ("Ref", "Sub", "GetAtt", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
             "FindInMap", "ImportValue", "Base64", "GetAZs", "Condition"):  # fmt: skip
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class FunctionSpec:
    """A function as SAM would run it: Globals merged into its properties."""

    logical_id: str
    handler: str
    code_uri: str
    runtime: str
    timeout: int
    memory_size: int
    layers: list[str]
    environment: dict[str, Any]
    routes: list[tuple[str, str]] = field(default_factory=list)


def parameter_value(template: dict[str, Any], name: str, overrides: dict[str, str] | None = None) -> str:
    """A stack parameter as CloudFormation would resolve it: the value given, else its Default."""
    given = (overrides or {}).get(name)
    return given if given else str(template["Parameters"][name].get("Default", ""))


def functions(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, FunctionSpec]:
    """Each function's spec; a ``!Ref`` Timeout or MemorySize takes its value from ``parameters``
    (the stack's overrides) or the parameter's Default."""
    defaults = template.get("Globals", {}).get("Function", {})

    def number(value: Any) -> int:
        return int(parameter_value(template, value["Ref"], parameters) if isinstance(value, dict) else value)

    specs = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        variables = dict(defaults.get("Environment", {}).get("Variables", {}))
        variables.update(props.get("Environment", {}).get("Variables", {}))
        routes = [
            (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
            for event in props.get("Events", {}).values()
            if event["Type"] == "Api"
        ]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=props["Handler"],
            code_uri=props["CodeUri"],
            runtime=props.get("Runtime", defaults.get("Runtime")),
            timeout=number(props.get("Timeout", defaults.get("Timeout", 3))),
            memory_size=number(props.get("MemorySize", defaults.get("MemorySize", 128))),
            layers=[layer["Ref"] for layer in props.get("Layers", defaults.get("Layers", []))],
            environment=variables,
            routes=routes,
        )
    return specs


def layer_uris(template: dict[str, Any]) -> dict[str, str]:
    return {
        logical_id: resource["Properties"]["ContentUri"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }


def package(template: dict[str, Any], code_locations: dict[str, str]) -> str:
    """JSON template with local CodeUri/ContentUri folders replaced by s3:// locations,
    as `sam package` does; ``code_locations`` maps each folder to its uploaded object."""
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props and isinstance(props[key], str) and not props[key].startswith("s3://"):
                props[key] = code_locations[props[key].rstrip("/")]
        resource.pop("Metadata", None)
    return json.dumps(packaged, indent=1, sort_keys=True)
