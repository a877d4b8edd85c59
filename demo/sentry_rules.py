"""What Sentry's server does with a transaction the SDK sent: its N+1 DB detector and its
issue-creation rules, followed as written, so the demo promises only what Sentry will show.

Read in getsentry/sentry (late 2026), and explained with the upstream paths in docs/sentry-rules.md:

* ingestion gives every span a ``hash`` (``src/sentry/spans/grouping/strategy/base.py``: for
  db ops, the description with its literals parametrized, else the raw description) and Relay
  fills ``sentry_tags.system`` and, for MongoDB, ``sentry_tags.description``;
* detection walks the spans as a tree, each parent's children by start time, depth first
  (``issue_detection/performance_detection.py``: ``build_tree`` / ``flatten_tree``);
* the N+1 DB detector (``issue_detection/detectors/n_plus_one_db_span_detector.py``) looks
  for a source db span whose parent is the root or an earlier non-db span, then repeats under
  the same parent, equivalent to the first repeat and different from the source, with no
  other span between; ``db.connection`` and ``db.redis`` spans are not db spans and end a run;
* a detection is an issue only at the third detection of its fingerprint within 24 hours,
  and at most 5 new issues of a type per project per hour (``issues/grouptype.py``'s noise
  config and creation quota, applied in ``issues/ingest.py``).

Relay's MongoDB description is modelled on its scrubbing (values replaced, the collection
kept); only its equality between spans matters here, and that it contains ``{``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Span = dict[str, Any]

# src/sentry/options/defaults.py: performance.issues.n_plus_one_db.count_threshold
N_PLUS_ONE_DB_MIN_REPEATS = 5
# performance.issues.n_plus_one_db.duration_threshold (100 ms in older releases): non-overlapping time
N_PLUS_ONE_DB_MIN_TOTAL_MS = 50.0
# src/sentry/issues/grouptype.py, the noise config of PerformanceNPlusOneGroupType (applied in
# issues/ingest.py): detections of one fingerprint within 24 h before a group (an issue) is created
N_PLUS_ONE_DB_DETECTIONS_FOR_ISSUE = 3
NOISE_WINDOW_HOURS = 24
# grouptype.py, GroupType.creation_quota: new issues of one type per project per hour
NEW_ISSUES_PER_TYPE_PER_HOUR = 5

# src/sentry/spans/grouping/strategy/base.py: DB_PARAMETRIZATION_PATTERN, LOOSE_IN_CONDITION_PATTERN
_DB_LITERALS = re.compile(
    r"(?:'(?:[^']|'')*?(?:\\'.*|'(?!')))|(?:-?\b(?:[0-9]+\.)?[0-9]+(?:[eE][+-]?[0-9]+)?\b)|(?:\b(?:true|false)\b)"
)
_LOOSE_IN = re.compile(r" IN \(((%s|\$?\d+|\?)(\s*,\s*(%s|\$?\d+|\?))*)\)", re.I)
_DB_GROUPING_OPS = {
    "db",
    "db.query",
    "db.sql.query",
    "db.sql.active_record",
    "db.sql.execute",
    "db.sql.transaction",
}


def seconds(value: float | str) -> float:
    """Span timestamps: epoch seconds, or RFC 3339 strings as the SDK serialises them."""
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def duration_ms(span: Span) -> float:
    return (seconds(span["timestamp"]) - seconds(span["start_timestamp"])) * 1000


def is_db(span: Span) -> bool:
    """A db span for the N+1 detector: ``db*`` except ``db.redis*`` and ``db.connection*``."""
    op = span.get("op") or ""
    return op.startswith("db") and not op.startswith(("db.redis", "db.connection"))


def db_spans(transaction: dict[str, Any]) -> list[Span]:
    """The query spans of a transaction (``db.connection`` excluded, as Sentry does)."""
    return [span for span in transaction.get("spans", []) if is_db(span)]


# --- what ingestion adds to each span ------------------------------------------------------------
def grouping_hash(span: Span) -> str:
    """The span's ``hash``: its grouping fingerprint (parametrized for db ops, else raw)."""
    description = span.get("description") or ""
    value = description
    if span.get("op") in _DB_GROUPING_OPS:
        query, ins = _LOOSE_IN.subn(" IN (%s)", description)
        query, literals = _DB_LITERALS.subn("%s", query)
        if ins + literals:
            value = query.strip()
    return hashlib.md5(value.encode()).hexdigest()[:16]


def _scrub_values(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _scrub_values(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_scrub_values(value) for value in node[:1]] + (["..."] if len(node) > 1 else [])
    return "?"


def relay_mongodb_description(span: Span) -> str | None:
    """Relay's description of a MongoDB span: the command's values scrubbed, the collection kept."""
    try:
        command = json.loads(span.get("description") or "")
    except ValueError:
        return None
    if not isinstance(command, dict) or not command:
        return None
    name, collection = next(iter(command.items()))
    scrubbed = _scrub_values(command)
    scrubbed[name] = (span.get("data") or {}).get("db.mongodb.collection") or collection
    return json.dumps(scrubbed, separators=(",", ":"))


def as_ingested(span: Span) -> Span:
    """The span as Sentry's detectors see it: with ``hash`` and Relay's ``sentry_tags``."""
    enriched = dict(span)
    system = (span.get("data") or {}).get("db.system")
    tags = dict(span.get("sentry_tags") or {})
    if system:
        tags["system"] = system
    if system == "mongodb" and (description := relay_mongodb_description(span)):
        tags["description"] = description
    enriched["sentry_tags"] = tags
    enriched.setdefault("hash", grouping_hash(span))
    enriched["start_timestamp"] = seconds(span["start_timestamp"])
    enriched["timestamp"] = seconds(span["timestamp"])
    return enriched


def walk_order(transaction: dict[str, Any]) -> list[Span]:
    """Spans in the order the detectors visit them: depth first, children by start time."""
    spans = [as_ingested(span) for span in transaction.get("spans", []) if span.get("span_id")]
    known = {span["span_id"] for span in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.get("parent_span_id")
        children.setdefault(parent if parent in known else None, []).append(span)
    ordered: list[Span] = []
    stack = sorted(children.get(None, []), key=lambda span: span["start_timestamp"], reverse=True)
    while stack:
        span = stack.pop()
        ordered.append(span)
        stack += sorted(children.get(span["span_id"], []), key=lambda s: s["start_timestamp"], reverse=True)
    return ordered


def non_overlapping_ms(spans: list[Span]) -> float:
    """Total time covered by ``spans``, overlaps counted once (Sentry's ``total_span_time``)."""
    ordered = sorted(spans, key=lambda span: span["start_timestamp"])
    total, low, high = 0.0, ordered[0]["start_timestamp"], ordered[0]["timestamp"]
    for span in ordered[1:]:
        if low <= span["start_timestamp"] <= high:
            high = max(high, span["timestamp"])
        else:
            total, low, high = total + high - low, span["start_timestamp"], span["timestamp"]
    return (total + high - low) * 1000


def equivalent(a: Span, b: Span) -> bool:
    """Two repeats: same hash and description; for MongoDB also the same Relay description."""
    same = (
        a.get("hash") == b.get("hash")
        and bool(a.get("description"))
        and a.get("description") == b.get("description")
    )
    if a["sentry_tags"].get("system") == "mongodb":
        return same and a["sentry_tags"].get("description") == b["sentry_tags"].get("description")
    return same


@dataclass
class NPlusOne:
    """One N+1 DB problem, as the detector stores it."""

    fingerprint: str
    description: str
    parent_span_id: str
    source_span_id: str
    offender_span_ids: list[str]
    total_ms: float

    @property
    def repeats(self) -> int:
        return len(self.offender_span_ids)


@dataclass
class _Walk:
    """The detector's state while it visits spans (``NPlusOneDBSpanDetector``)."""

    parents: dict[str, Span]
    source: Span | None = None
    first_repeat: Span | None = None
    repeats: list[Span] = field(default_factory=list)
    found: dict[str, NPlusOne] = field(default_factory=dict)

    def visit(self, span: Span) -> None:
        if not is_db(span):
            self.store()  # any other span ends the run being tracked
            self.reset()
            if span.get("parent_span_id"):
                self.parents[span["span_id"]] = span
            return
        if self.source is None:
            self.use_as_source(span)
            return
        if self.continues(span):
            self.repeats.append(span)
            return
        previous = self.repeats[-1] if self.repeats else None
        self.store()
        self.reset()
        if previous is not None:  # the last repeat may start a new N+1
            self.use_as_source(previous)
        if self.source is not None and self.continues(span):
            self.repeats.append(span)
        else:
            self.source = None
            self.use_as_source(span)

    def use_as_source(self, span: Span) -> None:
        if span.get("parent_span_id") in self.parents:
            self.source = span

    def continues(self, span: Span) -> bool:
        source = self.source
        if source is None or not span.get("parent_span_id"):
            return False
        if span["parent_span_id"] != source.get("parent_span_id") or not span.get("hash"):
            return False
        if span["hash"] == source.get("hash"):  # the source and its repeats differ
            return False
        if self.first_repeat is None:
            self.first_repeat = span
            return True
        return equivalent(span, self.first_repeat)

    def reset(self) -> None:
        self.source, self.first_repeat, self.repeats = None, None, []

    def store(self) -> None:
        source, repeats = self.source, self.repeats
        if source is None or len(repeats) < N_PLUS_ONE_DB_MIN_REPEATS:
            return
        total = non_overlapping_ms(repeats)
        if total < N_PLUS_ONE_DB_MIN_TOTAL_MS:
            return
        parent = self.parents[source["parent_span_id"]]  # a source always has a known parent
        if not source.get("description"):
            return
        if (repeats[0].get("description") or "").endswith("..."):  # truncated: cannot be sure
            return
        description = _offender_description(repeats[0])
        if description is None:
            return
        identity = f"{parent.get('op', '')}{parent.get('hash', '')}{source['hash']}{repeats[0]['hash']}"
        fingerprint = (
            f"1-GroupType.PERFORMANCE_N_PLUS_ONE_DB_QUERIES-{hashlib.sha1(identity.encode()).hexdigest()}"
        )
        self.found.setdefault(
            fingerprint,
            NPlusOne(
                fingerprint,
                description,
                parent["span_id"],
                source["span_id"],
                [span["span_id"] for span in repeats],
                round(total, 1),
            ),
        )


def _offender_description(span: Span) -> str | None:
    """MongoDB spans count only with Relay's description, and only if it holds a query ``{``."""
    if "pg-pool.connect" in (span.get("description") or ""):
        return None
    if "mongo" in span["sentry_tags"].get("system", ""):
        description = span["sentry_tags"].get("description")
        return description if description and "{" in description else None
    return span.get("description")


def n_plus_one_problems(transaction: dict[str, Any]) -> list[NPlusOne]:
    """Every N+1 DB problem Sentry's detector stores for this transaction."""
    root = transaction.get("contexts", {}).get("trace", {})
    walk = _Walk(parents={root["span_id"]: {**root, "hash": ""}} if root.get("span_id") else {})
    for span in walk_order(transaction):
        walk.visit(span)
    walk.store()
    return list(walk.found.values())


def n_plus_one(transaction: dict[str, Any]) -> NPlusOne | None:
    problems = n_plus_one_problems(transaction)
    return problems[0] if problems else None


# --- from a detection to an issue --------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What Sentry will create for a scenario."""

    creates: str  # "N+1 DB Query issue", "error issue", or "no issue"
    after_runs: int | None  # runs (within 24 h) before the issue exists; None for no issue
    why: str

    def __str__(self) -> str:
        if self.after_runs is None:
            return f"no issue: {self.why}"
        runs = "the first run" if self.after_runs == 1 else f"the {_ordinal(self.after_runs)} run within 24 h"
        return f"{self.creates} at {runs} ({self.why})"


def _ordinal(number: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(number, f"{number}th")


def n_plus_one_verdict(found: NPlusOne | bool | None) -> Verdict:
    """For a detection (or ``True``: the one a scenario promises), what Sentry creates."""
    if not found:
        return Verdict("no issue", None, "no span run meets the N+1 DB detector")
    measured = f"{found.repeats} repeats, {found.total_ms:.0f} ms; " if isinstance(found, NPlusOne) else ""
    return Verdict(
        "N+1 DB Query issue",
        N_PLUS_ONE_DB_DETECTIONS_FOR_ISSUE,
        f"{measured}one detection per run, the issue at {N_PLUS_ONE_DB_DETECTIONS_FOR_ISSUE} detections of "
        f"one fingerprint within {NOISE_WINDOW_HOURS} h, at most {NEW_ISSUES_PER_TYPE_PER_HOUR} new a hour",
    )


def error_verdict(exception_type: str) -> Verdict:
    return Verdict("error issue", 1, f"{exception_type} is an error event, grouped at once")
