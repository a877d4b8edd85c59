"""docs/aws-parity.md, written by `make aws-parity` from pytest's results.xml: how many of
LocalStack's AWS-recorded Lambda tests pass against the executor, which fail and with what,
and which were left out as not the executor's (so no count in the docs is typed by hand)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ANSI = re.compile(r"(\x1b|#x1B)\[[0-9;]*m")


def outcomes(results: Path) -> dict[str, tuple[str, str]]:
    """node id -> (passed | failed | skipped, the first line of why)."""
    found = {}
    for case in ElementTree.parse(results).getroot().iter("testcase"):
        if "classname" not in case.attrib:  # a test cut off by an interrupt
            continue
        module = case.attrib["classname"].split(".")
        classes = [part for part in module if part[:1].isupper()]
        path = "/".join(part for part in module if not part[:1].isupper()) + ".py"
        node = "::".join([path, *classes, case.attrib["name"]])
        outcome, why = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                lines = ANSI.sub("", element.attrib.get("message", "")).strip().splitlines()
                why = lines[0][:160] if lines else ""
                break
        found[node] = (outcome, why)
    return found


def missing_runtime(node: str, runtimes: set[str]) -> str | None:
    """The Python runtime a test runs that this machine has no interpreter for (refused with
    Local.UnsupportedRuntime, as the issue asked), if any."""
    named = re.search(r"\[(python3\.\d+)", node)
    return named.group(1) if named and named.group(1) not in runtimes else None


def write(results: Path, left_out: dict[str, str], source: str, target: Path, runtimes: set[str]) -> None:
    """``runtimes``: the Python runtimes this machine runs (LOCAL_LAMBDA_PYTHON_3_X)."""
    ran = outcomes(results)
    for node, (outcome, _) in list(ran.items()):
        runtime = missing_runtime(node, runtimes)
        if outcome == "failed" and runtime:
            ran[node] = ("refused", f"no CPython {runtime.removeprefix('python')} on this machine")
    counts = Counter(outcome for outcome, _ in ran.values())
    runs_here = ", ".join(sorted(runtimes, key=lambda name: int(name.rpartition(".")[2])))
    lines = [
        "# AWS's recorded Lambda tests against this executor",
        "",
        f"Written by `make aws-parity` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from localstack/localstack "
        f"{source} (docs/fidelity.md says how it runs), with the Python runtimes {runs_here}. "
        "Re-run it to refresh this page.",
        "",
        "| | tests |",
        "|---|---|",
        f"| run | {len(ran)} |",
        f"| passed | {counts['passed']} |",
        f"| failed | {counts['failed']} |",
        f"| refused: a runtime this machine has no CPython for (Local.UnsupportedRuntime) "
        f"| {counts['refused']} |",
        f"| skipped by the tests themselves | {counts['skipped']} |",
        f"| left out: not the executor's | {len(left_out)} |",
        "",
        "## Failed",
        "",
    ]
    failed = sorted((node, why) for node, (outcome, why) in ran.items() if outcome == "failed")
    lines += [f"- {node.split('::', 1)[1]}: {why.replace('|', '/')}" for node, why in failed] or ["None."]
    refused = Counter(why for outcome, why in ran.values() if outcome == "refused")
    lines += ["", "## Refused", ""]
    lines += [f"- {why}: {number} tests" for why, number in sorted(refused.items())] or ["None."]
    lines += ["", "## Left out, and why", ""]
    for reason, number in sorted(Counter(left_out.values()).items()):
        lines.append(f"- {reason}: {number}")
    target.write_text("\n".join(lines) + "\n")
