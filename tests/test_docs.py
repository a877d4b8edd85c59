"""The README and docs/ stay true: every make target, variable, path and command they name
exists and works (commands are run outside make, as a reader would); and no file of the
project sends its reader to a folder a clone does not have."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from demo import docs_blocks

PROJECT = Path(__file__).resolve().parents[1]
DOCS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
TEXT = {path.name: path.read_text() for path in DOCS}
SOURCES = [
    *PROJECT.glob("deploy/*.py"),
    *PROJECT.glob("localstack/localcloud/*.py"),
    *PROJECT.glob("localstack/executor/lambda_process_executor/*.py"),
    *PROJECT.glob("layers/common/python/slot_common/*.py"),
    *PROJECT.glob("functions/*/*.py"),
    *PROJECT.glob("functions/*/*/*.py"),
    PROJECT / "layers/sentry-relay/extensions/sentry-relay",
    PROJECT / "Makefile",
    PROJECT / "template.yaml",
    PROJECT / ".env.example",
    PROJECT / "localstack/docker-compose.yml",
]
CODE = "\n".join(path.read_text() for path in SOURCES)
# variables the docs name that belong to AWS, LocalStack, Sentry's SDK or the shell, not to us
NOT_OURS = {
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_LAMBDA_LOG_GROUP_NAME", "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_EXECUTOR", "LAMBDA_LIMITS_CONCURRENT_EXECUTIONS", "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT",
    "DISABLE_BOTO_RETRIES", "LAMBDA_DOCKER_NETWORK", "PATH", "PYTHONPATH", "CI",
    # LocalStack's own, named where docs/fidelity.md compares its Docker executor
    "LAMBDA_DOCKER_FLAGS", "LAMBDA_IGNORE_ARCHITECTURE", "LAMBDA_KEEPALIVE_MS",
    # uv's own (the installer of make's environments), named for a package mirror
    "UV_DEFAULT_INDEX", "SSL_CERT_FILE",
}  # fmt: skip


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (PROJECT / "Makefile").read_text(), re.M))


def named(pattern: str) -> set[tuple[str, str]]:
    return {(name, match) for name, text in TEXT.items() for match in re.findall(pattern, text)}


@pytest.mark.parametrize("doc,target", sorted(named(r"`make ([a-z][a-z-]*)")))
def test_every_make_target_named_exists_and_plans(doc, target):
    assert target in make_targets(), f"{doc} names `make {target}`, which the Makefile lacks"
    result = subprocess.run(
        ["make", "-n", target, "FUNCTION=UserServiceFunction", "EVENT=events/balance.json"],
        cwd=PROJECT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_every_make_target_is_in_the_readme():
    rows = [line for line in TEXT["README.md"].splitlines() if line.startswith("| `make ")]
    listed = {target for row in rows for target in re.findall(r"`make ([a-z-]+)", row.split("|")[1])}
    assert make_targets() - {"help"} <= listed | {"help"}, make_targets() - listed


@pytest.mark.parametrize("doc,variable", sorted(named(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`")))
def test_every_variable_named_is_read_by_the_code(doc, variable):
    if variable in NOT_OURS or variable.startswith(("SENTRY_AUTH", "AWS_")):
        return
    assert variable in CODE, f"{doc} names {variable}, which nothing reads"


PATH_ROOTS = (
    "docs/",
    "deploy/",
    "localstack/",
    "functions/",
    "layers/",
    "frontend/",
    "tests/",
    "events/",
    "sentry/",
    "scripts/",
)


@pytest.mark.parametrize(
    "doc,path", sorted(named(r"`((?:" + "|".join(map(re.escape, PATH_ROOTS)) + r")[^`\s]*)`"))
)
def test_every_path_named_exists(doc, path):
    if any(mark in path for mark in ("<", "{", "*", "...")):
        return
    path = path.split(":")[0].rstrip("/")
    assert (PROJECT / path).exists(), f"{doc} names {path}, which does not exist"


def test_no_file_points_outside_the_repository():
    """A `../...` path in any tracked file must exist inside the clone: notes kept beside the
    repository (a team's folder, another checkout) are not there for whoever clones it."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    relative = re.compile(r"(?<![\w./])((?:\.\./)+[\w-][\w./-]*)")
    outside = []
    for name in filter(None, tracked):
        path = PROJECT / name
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for reference in relative.findall(text):
            target = (path.parent / reference.rstrip(".")).resolve()
            if not (target.is_relative_to(PROJECT) and target.exists()):
                outside.append(f"{name}: {reference}")
    assert outside == [], "paths a clone does not have:\n" + "\n".join(outside)


@pytest.mark.parametrize("doc,module", sorted(named(r"python -m ((?:deploy|localcloud)[a-z_.]*)")))
def test_every_python_command_named_runs_outside_make(doc, module, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [str(PROJECT / ".venv" / "bin" / "python"), "-m", module, "--help"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, f"{doc}: python -m {module} --help failed:\n{result.stderr[-800:]}"
    assert "usage:" in result.stdout


def test_generated_blocks_are_current():
    for name, paths in docs_blocks.BLOCKS.items():
        for path in paths:
            assert docs_blocks.read_block(path.read_text(), name) is not None, f"{path.name} lacks {name}"
    for path in docs_blocks.BLOCKS["sentry-verdicts"]:
        assert docs_blocks.read_block(path.read_text(), "sentry-verdicts") == docs_blocks.verdict_table(), (
            f"{path.name}: run python -m demo.docs_blocks"
        )


def test_no_measurement_is_typed_into_the_prose_docs():
    """Numbers with units live in generated files (benchmarks.md, generated blocks)."""
    measured = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|MB|GB)\b|\b\d+(?:\.\d+)?x faster\b")
    # targets and thresholds, not measurements: the targets of benchmarks.md, Sentry's N+1
    # duration threshold, the distance of bench's slow ingest, a runtime's memory budget
    allowed = {"3 ms", "30 ms", "50 ms", "120 ms", "700 ms", "10x faster", "256 MB", "1.5 GB"}
    for name in ("performance-notes.md", "demo-guide.md", "reliability.md", "capacity.md"):
        text = TEXT[name]
        for block in docs_blocks.BLOCKS:
            text = docs_blocks.block_pattern(block).sub("", text)
        typed = [found for found in measured.findall(text) if found not in allowed]
        assert typed == [], f"{name} types measurements: {typed}"


def test_the_demo_guide_says_what_the_tour_shows_in_the_tour_order():
    """The page's tour shows the catalog's `say` lines: the guide has them word for word, in
    the tour's order."""
    from demo.scenario_catalog import TOUR, by_id

    guide = TEXT["demo-guide.md"]
    places = [guide.find(f'"{by_id(scenario_id).say}"') for scenario_id in TOUR]
    missing = [scenario_id for scenario_id, at in zip(TOUR, places, strict=True) if at < 0]
    assert missing == [], f"demo-guide.md lacks the say line of {missing}"
    assert places == sorted(places), "the guide's order is the tour's"


def test_make_help_and_the_readme_give_loads_defaults():
    """`make help`, the README and perf/load.py's own defaults name the same crowd."""
    source = (PROJECT / "perf" / "load.py").read_text()
    spins = re.search(r'"--spins", type=int, default=(\d+)', source).group(1)
    clients = re.search(r'"--concurrency", type=int, default=(\d+)', source).group(1)
    shown = subprocess.run(["make", "-s", "help"], cwd=PROJECT, capture_output=True, text=True).stdout
    help_line = next(line for line in shown.splitlines() if line.startswith("load "))
    assert f"{spins} spins from {clients} concurrent clients (default)" in help_line, help_line
    readme_line = next(line for line in TEXT["README.md"].splitlines() if line.startswith("| `make load`"))
    assert f"default {spins} from {clients} clients" in readme_line, readme_line
