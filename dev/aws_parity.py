"""`make aws-parity SOURCE=<localstack/localstack checkout or git dir>`: LocalStack's own Lambda
tests, whose snapshots were recorded against AWS, run against our executor (`make up`'s
LocalStack). Prints how many pass; not part of `make test` (they are not our tests).

Kept: the Python-runtime tests of test_lambda.py, test_lambda_api.py, test_lambda_common.py and
test_lambda_runtimes.py that need neither a Docker image (``requires_docker``) nor LocalStack in
the test process (``requires_in_process``) nor DynamoDB/Kinesis (not in this LocalStack).
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import warnings
from pathlib import Path

from dev import aws_parity_report as report
from localcloud.settings import PROJECT_ROOT, Settings

REPORT = PROJECT_ROOT / "docs" / "aws-parity.md"
FILES = ("test_lambda.py", "test_lambda_api.py", "test_lambda_common.py", "test_lambda_runtimes.py")
MARKERS = "not requires_in_process and not requires_docker"
OTHER_RUNTIMES = re.compile(r"nodejs|java|ruby|dotnet|provided|go1|node", re.I)
# a runtime written into the test, not a parameter of it
NON_PYTHON = re.compile(r"runtime=Runtime\.(nodejs|java|ruby|dotnet|provided|go)")
INVOKES = re.compile(r"\.invoke\w*\(|requests\.|urlopen\(")
# services whose engines this LocalStack does not have (DynamoDB Local needs Java, Kinesis its mock
# server); SQS, SNS and the rest run in LocalStack's own process and stay in
OTHER_SERVICES = re.compile(r"\b(dynamodb|kinesis)_\w+|aws_client\.(dynamodb|kinesis)\b")
NEEDS_IMAGES = {"TestLambdaImages"}  # container-image functions: the executor runs ZIP functions
# the function-URL tests call <id>.lambda-url.<region>.localhost.localstack.cloud: resolve it here
DNS_PLUGIN = """import socket
_real = socket.getaddrinfo
def _local(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith("localhost.localstack.cloud"):
        host = "127.0.0.1"
    return _real(host, *args, **kwargs)
socket.getaddrinfo = _local
"""


def _output(argv: list[str], **options: object) -> str:
    done = subprocess.run(argv, check=True, capture_output=True, text=True, **options)  # type: ignore[call-overload]
    return str(done.stdout).strip()


def _site(python: Path | str) -> str:
    return _output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])


def prepare(source: Path, work: Path, settings: Settings) -> Path:
    """The tests of ``source`` in ``work``/src, and a venv with their tools; returns its python."""
    src, venv = work / "src", work / "venv"
    if not (src / "tests").is_dir():
        src.mkdir(parents=True, exist_ok=True)
        git_dir = source / ".git" if (source / ".git").exists() else source
        archive = subprocess.run(
            ["git", "--git-dir", str(git_dir), "archive", "HEAD", "tests", "pyproject.toml"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "x", "-C", str(src)], input=archive, check=True)
    (src / "aws_parity_dns.py").write_text(DNS_PLUGIN)
    python = venv / "bin" / "python"
    if not python.exists():
        interpreter = _output([str(PROJECT_ROOT / "scripts" / "find-python313")])
        subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
        requirements = PROJECT_ROOT / "requirements" / "aws-parity.txt"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
    # the testing fixtures ship in localstack-core: the one our LocalStack runs
    (Path(_site(python)) / "localstack-core.pth").write_text(_site(settings.localstack_python) + "\n")
    return python


def environment(src: Path, settings: Settings) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "PYTHONPATH": str(src),
        "TEST_SKIP_LOCALSTACK_START": "1",
        "TEST_AWS_ENDPOINT_URL": settings.localstack_url,
        "TEST_AWS_REGION_NAME": "us-east-1",
        "TEST_AWS_ACCOUNT_ID": "000000000000",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "GATEWAY_LISTEN": f"127.0.0.1:{settings.localstack_port}",
    }


def test_sources(src: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(file, class::test) -> (the test's decorators and signature, its body), read with ast."""
    found = {}
    for name in FILES:
        path = src / "tests" / "aws" / "services" / "lambda_" / name
        text = path.read_text()
        with warnings.catch_warnings():  # their regexes' escapes are not ours to fix
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text)
        for owner in tree.body:
            members = owner.body if isinstance(owner, ast.ClassDef) else [owner]
            prefix = f"{owner.name}::" if isinstance(owner, ast.ClassDef) else ""
            for node in members:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                    head = [ast.get_source_segment(text, d) or "" for d in node.decorator_list]
                    head.append(ast.unparse(node.args))
                    body = "\n".join(ast.get_source_segment(text, b) or "" for b in node.body)
                    found[(name, prefix + node.name)] = ("\n".join(head), body)
    return found


def out_of_scope(node: str, sources: dict[tuple[str, str], tuple[str, str]]) -> str | None:
    """Why a collected test is not the executor's to pass (None: it is)."""
    path, _, test = node.partition("::")
    name = test.partition("[")[0]
    if OTHER_RUNTIMES.search(test):
        return "another runtime than Python"
    if name.split("::")[0] in NEEDS_IMAGES:
        return "a container image (Docker)"
    head, body = sources.get((Path(path).name, name), ("", ""))
    if match := OTHER_SERVICES.search(head + body):
        return f"another AWS service ({match.group(1) or match.group(2)})"
    if NON_PYTHON.search(body) and INVOKES.search(body):
        return "another runtime than Python"  # invoked; API calls on such a function are kept
    return None


def selected(python: Path, src: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The node ids to run (collected with the markers), and the others with why they are left out."""
    paths = [f"tests/aws/services/lambda_/{name}" for name in FILES]
    collect = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", "-m", MARKERS]
    collected = subprocess.run([*collect, *paths], cwd=src, env=env, capture_output=True, text=True)
    sources = test_sources(src)
    run, left_out = [], {}
    for node in (line for line in collected.stdout.splitlines() if "::" in line):
        reason = out_of_scope(node, sources)
        if reason:
            left_out[node] = reason
        else:
            run.append(node)
    return run, left_out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path, help="a localstack/localstack checkout or its git dir")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / ".local" / "aws-parity")
    # what argparse does not know goes to pytest (ARGS=-x, ARGS="-k NAME --timeout 120")
    args, pytest_args = parser.parse_known_args()
    settings = Settings.from_env()
    python = prepare(args.source, args.work, settings)
    src = args.work / "src"
    env = environment(src, settings)
    ids, left_out = selected(python, src, env)
    (args.work / "selected.txt").write_text("\n".join(ids) + "\n")
    print(f"aws-parity: {len(ids)} tests against {settings.localstack_url} "
          f"({len(left_out)} left out: not the executor's)", flush=True)  # fmt: skip
    options = ["-p", "no:cacheprovider", "-p", "aws_parity_dns", "-q", "-rfE", "--timeout", "600"]
    run = [
        str(python),
        "-m",
        "pytest",
        *options,
        "--junitxml",
        str(args.work / "results.xml"),
        *pytest_args,
    ]
    run += ids
    code = subprocess.run(run, cwd=src, env=env).returncode
    if pytest_args:
        print("aws-parity: a run with pytest arguments does not rewrite docs/aws-parity.md")
    else:
        runtimes = set(settings.lambda_pythons)
        report.write(args.work / "results.xml", left_out, source_commit(args.source), REPORT, runtimes)
        print(f"aws-parity: wrote {REPORT.relative_to(PROJECT_ROOT)}")
    return code


def source_commit(source: Path) -> str:
    git_dir = source / ".git" if (source / ".git").exists() else source
    return _output(["git", "--git-dir", str(git_dir), "log", "-1", "--format=%h %cs"])


if __name__ == "__main__":
    sys.exit(main())
