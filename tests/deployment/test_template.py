"""template.yaml is valid SAM and matches the Chalice apps route for route."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy import template
from dev import events
from tests.functions.conftest import load_app

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def functions():
    return template.functions(template.load())


def chalice_routes(service: str) -> set[tuple[str, str]]:
    app = load_app(service).app
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def test_sam_validate_lint_passes():
    sam = Path(sys.executable).parent / "sam"
    result = subprocess.run(
        [str(sam), "validate", "--lint", "--template", str(PROJECT / "template.yaml")],
        capture_output=True,
        text=True,
        env=os.environ | {"SAM_CLI_TELEMETRY": "0"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_every_chalice_route_is_in_the_template_and_every_api_event_is_a_chalice_route(functions):
    by_service: dict[str, set[tuple[str, str]]] = {}
    for spec in functions.values():
        service = spec.code_uri.strip("/").split("/")[-1]
        by_service.setdefault(service, set()).update(spec.routes)
    for service, template_routes in by_service.items():
        routes = chalice_routes(service)
        assert routes == template_routes, (
            f"{service}: chalice-only {routes - template_routes}, template-only {template_routes - routes}"
        )


def test_pure_lambda_handlers_exist(functions):
    for spec in functions.values():
        module_name, _, attribute = spec.handler.partition(".")
        app_module = load_app(spec.code_uri.strip("/").split("/")[-1])
        assert module_name == "app" and callable(getattr(app_module, attribute)), spec.handler


def test_timeouts_and_memory_fit_the_scenarios(functions):
    engine = functions["GameEngineFunction"]
    assert engine.timeout < 4 * 5, "the timeout scenario's work (4x a 5-10 s spike) must exceed the Timeout"
    assert engine.timeout > 10, "the CPU spike (5-10 s) must fit in the Timeout"
    # AWS's CPU share is MemorySize/1769 of a vCPU: the spike is 5-10 s at one vCPU, a timeout below
    assert engine.memory_size == 1769, "the CPU spike needs one vCPU to be 5-10 s on AWS"
    eager = functions["GameEngineEagerInitFunction"]
    assert eager.memory_size == engine.memory_size, "the cold-start pair differs in its init only"
    assert functions["AnalyticsFunction"].timeout >= 15, "the slow aggregation takes up to 15 s"
    assert functions["GameEngineEagerInitFunction"].environment["EAGER_INIT"] == "true"


def test_event_files_match_their_table_and_their_routes(functions):
    for spec in events.EVENTS:
        path = events.EVENTS_DIR / spec.file
        assert path.read_text() == events.render(spec), f"{spec.file} is stale: run python -m dev.events"
        assert (spec.method, spec.resource) in functions[spec.function].routes, spec.file
    assert (events.EVENTS_DIR / "README.md").read_text() == events.readme()


def test_the_page_table_is_the_catalog_and_every_request_has_a_route(functions):
    """The page draws its buttons from page_table() (shipped in config.js): one source."""
    from demo.scenario_catalog import SCENARIOS, page_table

    table = page_table()
    assert [s["id"] for s in table["scenarios"]] == [s.id for s in SCENARIOS]
    for scenario in SCENARIOS:
        for request in (scenario.antipattern, scenario.fix, scenario.prepare, scenario.also):
            if request is not None:
                assert (request.method, request.route) in functions[request.function].routes, request.label


def test_the_game_engine_timeout_is_a_stack_parameter_both_deploys_pass_and_the_page_shows(monkeypatch):
    """GAME_ENGINE_TIMEOUT sets the stack's GameEngineTimeout on either target; `make invoke`
    runs the function with it, and the page's timeout card names it."""
    from deploy import aws, local, website
    from deploy.settings import DeploySettings
    from localcloud.settings import Settings

    tpl = template.load()
    assert template.functions(tpl)["GameEngineFunction"].timeout == 15, "the demo's default"
    monkeypatch.setenv("GAME_ENGINE_TIMEOUT", "6")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    local_parameters = local.stack_parameters(Settings.from_env(), "demo")
    assert local_parameters["GameEngineTimeout"] == "6"
    assert template.functions(tpl, local_parameters)["GameEngineFunction"].timeout == 6
    assert "GameEngineTimeout=6" in aws.parameter_overrides(aws.AwsTarget.from_env("deploy"), "http://page")
    config = website.page_config(DeploySettings.from_env(), "http://api", "")
    assert config["gameEngineTimeoutS"] == 6
    monkeypatch.delenv("GAME_ENGINE_TIMEOUT")
    assert website.page_config(DeploySettings.from_env(), "http://api", "")["gameEngineTimeoutS"] == 15
