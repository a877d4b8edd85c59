"""Generated blocks in the docs: numbers and verdicts are written, never typed.

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``. ``sentry-verdicts``
comes from the scenario catalog (what Sentry creates, by its rules), ``sentry-queries`` from
demo/sentry_views.py (the view to open and the query, per scenario); ``scenario-timings`` from
the last ``make bench`` run (its raw results). `make bench` rewrites both; ``python -m
demo.docs_blocks`` rewrites them from the last raw results; a test checks the verdicts.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from demo.scenario_catalog import SCENARIOS
from localcloud.settings import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
BLOCKS = {  # which files carry which blocks
    "sentry-verdicts": [DOCS / "scenarios.md", DOCS / "demo-guide.md"],
    "scenario-timings": [DOCS / "scenarios.md"],
    "sentry-queries": [DOCS / "scenarios.md", DOCS / "demo-guide.md"],
}
RAW_RESULTS = PROJECT_ROOT / ".local" / "bench.json"


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end: {name} -->)", re.S)


def read_block(text: str, name: str) -> str | None:
    match = block_pattern(name).search(text)
    return match.group(2) if match else None


def replace_block(text: str, name: str, content: str) -> str:
    if read_block(text, name) is None:
        raise ValueError(f"no block {name!r}")
    return block_pattern(name).sub(lambda m: m.group(1) + content + m.group(3), text)


def verdict_table() -> str:
    rows = ["| scenario | what Sentry creates, by its own rules |", "|---|---|"]
    rows += [f"| {scenario.title} | {scenario.sentry} |" for scenario in SCENARIOS]
    return "\n".join(rows) + "\n"


def _ms(samples: list[float]) -> str:
    value = statistics.median(samples)
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def timings_table(results: dict[str, Any]) -> str:
    """The scenario pairs of a bench run: medians through API Gateway, the run's date."""
    pairs = results.get("scenarios", {})
    titles = {scenario.id: scenario.title for scenario in SCENARIOS}
    rows = [
        f"Medians through API Gateway, written by `make bench` on {results.get('when', 'its last run')}",
        "(interleaved pairs; the spread and the machine are in benchmarks.md).",
        "",
        "| scenario | anti-pattern | fix | ratio | pairs |",
        "|---|---|---|---|---|",
    ]
    for scenario_id, samples in pairs.items():
        slow, fast = statistics.median(samples["antipattern"]), statistics.median(samples["fix"])
        title = titles.get(scenario_id, scenario_id)
        rows.append(
            f"| {title} | {_ms(samples['antipattern'])} | {_ms(samples['fix'])} "
            f"| {slow / fast:.1f}x | {len(samples['fix'])} |"
        )
    return "\n".join(rows) + "\n"


def write(name: str, content: str) -> list[Path]:
    written = []
    for path in BLOCKS[name]:
        text = path.read_text()
        updated = replace_block(text, name, content)
        if updated != text:
            path.write_text(updated)
            written.append(path)
    return written


def refresh(results: dict[str, Any] | None) -> list[Path]:
    """Rewrites every block; timings only when there are bench results."""
    from demo.sentry_views import queries_table

    written = write("sentry-verdicts", verdict_table()) + write("sentry-queries", queries_table())
    if results and results.get("scenarios"):
        written += write("scenario-timings", timings_table(results))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.docs_blocks", description=__doc__)
    parser.add_argument("--raw", type=Path, default=RAW_RESULTS, help="make bench's raw results")
    args = parser.parse_args(argv)
    results = json.loads(args.raw.read_text()) if args.raw.exists() else None
    for path in refresh(results):
        print(path.relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
