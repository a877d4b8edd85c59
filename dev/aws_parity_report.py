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
                why = ANSI.sub("", element.attrib.get("message", "")).strip().splitlines()[0:1]
                why = why[0][:160] if why else ""
                break
        found[node] = (outcome, why)
    return found


def write(results: Path, left_out: dict[str, str], source: str, target: Path) -> None:
    ran = outcomes(results)
    counts = Counter(outcome for outcome, _ in ran.values())
    lines = [
        "# AWS's recorded Lambda tests against this executor",
        "",
        f"Written by `make aws-parity` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from localstack/localstack "
        f"{source} (docs/fidelity.md says how it runs). Re-run it to refresh this page.",
        "",
        "| | tests |",
        "|---|---|",
        f"| run | {len(ran)} |",
        f"| passed | {counts['passed']} |",
        f"| failed | {counts['failed']} |",
        f"| skipped by the tests themselves | {counts['skipped']} |",
        f"| left out: not the executor's | {len(left_out)} |",
        "",
        "## Failed",
        "",
    ]
    failed = sorted((node, why) for node, (outcome, why) in ran.items() if outcome == "failed")
    lines += [f"- {node.split('::', 1)[1]}: {why.replace('|', '/')}" for node, why in failed] or ["None."]
    lines += ["", "## Left out, and why", ""]
    for reason, number in sorted(Counter(left_out.values()).items()):
        lines.append(f"- {reason}: {number}")
    target.write_text("\n".join(lines) + "\n")
