// Every run's trace, drawn on the page. The transactions come from Spotlight's stream (the
// page keeps all it received, so a drawn panel survives Spotlight dropping old envelopes:
// it keeps only the last 500). The waterfall shows the browser span, each Lambda
// transaction with its spans, repeated identical db spans grouped (the N+1), cold starts
// with their Init Duration, and the timeout warning.

const transactions = new Map(); // trace id -> [transaction]
const warnings = new Map(); // trace id -> [error event]
const seen = new Set();
const waiting = new Set();
export const N_PLUS_ONE_MIN_REPEATS = 5; // Sentry's count threshold (demo/sentry_rules.py)

function keep(bucket, traceId, item) {
  if (!bucket.has(traceId)) bucket.set(traceId, []);
  bucket.get(traceId).push(item);
}

function receive(envelope) {
  for (const [header, payload] of envelope[1] || []) {
    const traceId = payload && payload.contexts && payload.contexts.trace && payload.contexts.trace.trace_id;
    if (!traceId || seen.has(payload.event_id)) continue;
    seen.add(payload.event_id);
    if (header.type === "transaction") keep(transactions, traceId, payload);
    else if (header.type === "event") keep(warnings, traceId, payload);
  }
  for (const check of [...waiting]) check();
}

export function followSpotlight(spotlightUrl) {
  if (!spotlightUrl || !window.EventSource) return false;
  const source = new EventSource(`${spotlightUrl}/stream`);
  source.addEventListener("application/x-sentry-envelope", (message) => {
    try {
      receive(JSON.parse(message.data));
    } catch {
      // not an envelope: nothing to keep
    }
  });
  return true;
}

export function traceOf(traceId) {
  return { transactions: transactions.get(traceId) || [], warnings: warnings.get(traceId) || [] };
}

export const isPageTransaction = (t) => (t.contexts.trace.op || "") === "ui.action.scenario";

// Resolves with the trace once it holds `minTransactions` transactions (and the page's own,
// with `untilPage`: the last one sent), or with what it has after `timeoutMs`.
export function waitForTrace(traceId, { minTransactions = 2, timeoutMs = 20000, untilPage = false } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const check = () => {
      const trace = traceOf(traceId);
      const complete =
        trace.transactions.length >= minTransactions &&
        (!untilPage || trace.transactions.some(isPageTransaction));
      if (complete || Date.now() - started > timeoutMs) {
        waiting.delete(check);
        clearInterval(timer);
        resolve(trace);
      }
    };
    const timer = setInterval(check, 200);
    waiting.add(check);
    check();
  });
}

const seconds = (value) => (typeof value === "number" ? value : Date.parse(value) / 1000);
// The driver's own round trips (log-in, handshake, heartbeats, session clean-up) are no
// queries. The SDK redacts the log-in's command to "{}", so the command's name comes from
// the span's db.operation.
const DRIVER_COMMANDS = {
  saslStart: "driver log-in",
  saslContinue: "driver log-in",
  authenticate: "driver log-in",
  hello: "driver handshake",
  isMaster: "driver handshake",
  ismaster: "driver handshake",
  ping: "driver heartbeat",
  endSessions: "driver session clean-up",
};
function operationOf(span) {
  const named = (span.data || {})["db.operation"] || (span.tags || {})["db.operation"];
  if (named) return String(named);
  const first = /^\{"(\w+)"/.exec(span.description || "");
  return first ? first[1] : "";
}
const isDriver = (span) =>
  (span.op || "").startsWith("db") && Object.hasOwn(DRIVER_COMMANDS, operationOf(span));
const isDb = (span) =>
  (span.op || "").startsWith("db") && !(span.op || "").startsWith("db.connection") && !isDriver(span);

// A waterfall row's words: never an empty or redacted "{}" description.
export function spanLabel(span) {
  const op = span.op || "span";
  const operation = operationOf(span);
  if (isDriver(span)) return `${op} ${operation} (${DRIVER_COMMANDS[operation]})`;
  const description = (span.description || "").trim();
  if (!description || description === "{}") return `${op} ${operation || "(no description)"}`;
  return `${op} ${description.slice(0, 60)}`;
}

// Consecutive spans with the same parent, op and description, at least N_PLUS_ONE_MIN_REPEATS
// of them: one row, highlighted.
function groupRepeats(spans) {
  const rows = [];
  for (const span of spans) {
    const last = rows[rows.length - 1];
    if (
      last &&
      last.spans[0].parent_span_id === span.parent_span_id &&
      last.spans[0].op === span.op &&
      last.spans[0].description === span.description
    ) {
      last.spans.push(span);
    } else {
      rows.push({ spans: [span] });
    }
  }
  return rows.flatMap((row) =>
    // queries only: the page's own repeated calls (the memory leak's series) are no N+1
    row.spans.length >= N_PLUS_ONE_MIN_REPEATS && isDb(row.spans[0])
      ? [{ ...row, repeated: true }]
      : row.spans.map((span) => ({ spans: [span], repeated: false })),
  );
}

export function summarise(trace) {
  const lambdas = trace.transactions.filter((t) => !isPageTransaction(t));
  const spans = lambdas.flatMap((t) => t.spans || []);
  const repeated = lambdas
    .flatMap((t) => groupRepeats([...(t.spans || [])].sort(bySpanStart)))
    .filter((r) => r.repeated);
  return {
    dbSpans: spans.filter(isDb).length,
    connections: spans.filter((s) => (s.op || "").startsWith("db.connection")).length,
    cpuSpans: spans.filter((s) => (s.op || "").startsWith("cpu.")).length,
    repeats: repeated.reduce((most, row) => Math.max(most, row.spans.length), 0),
    initMs: lambdas
      .map((t) => (t.contexts.trace.data || {})["faas.init_duration_ms"])
      .filter((v) => v !== undefined),
    timeoutWarning: trace.warnings.some((e) =>
      ((e.exception && e.exception.values) || []).some((v) => v.type === "ServerlessTimeoutWarning"),
    ),
  };
}

function bySpanStart(a, b) {
  return seconds(a.start_timestamp) - seconds(b.start_timestamp);
}

// One waterfall row: a label and its bars ({start, end, title, critical}) on the shared scale.
export function waterfallRow(label, classes, bars, origin, scale) {
  const node = document.createElement("div");
  node.className = `wf-row ${classes}`;
  const name = document.createElement("span");
  name.className = "wf-label";
  name.textContent = label;
  const track = document.createElement("span");
  track.className = "wf-track";
  for (const segment of bars) {
    const fill = document.createElement("span");
    fill.className = `wf-bar${segment.critical ? " wf-critical" : ""}`;
    fill.style.left = `${Math.max(0, ((segment.start - origin) / scale) * 100)}%`;
    fill.style.width = `${Math.max(0.5, ((segment.end - segment.start) / scale) * 100)}%`;
    fill.title = segment.title;
    track.append(fill);
  }
  node.append(name, track);
  return node;
}

function bar(label, start, end, origin, scale, classes, title) {
  return waterfallRow(label, classes, [{ start, end, title }], origin, scale);
}

export const ms = (value) => (value >= 1 ? `${value.toFixed(2)} s` : `${Math.round(value * 1000)} ms`);

// Draws `trace` into `container` on a time scale of `scale` seconds (shared by both sides).
export function drawTrace(container, trace, scale) {
  container.replaceChildren();
  const all = [...trace.transactions].sort((a, b) => seconds(a.start_timestamp) - seconds(b.start_timestamp));
  if (!all.length) {
    container.textContent = "The trace has not reached the trace viewer (is Spotlight running?).";
    return;
  }
  const origin = seconds(all[0].start_timestamp);
  const summary = summarise(trace);
  container.dataset.dbSpans = String(summary.dbSpans);
  container.dataset.repeats = String(summary.repeats);
  container.dataset.timeoutWarning = String(summary.timeoutWarning);
  for (const transaction of all) {
    const start = seconds(transaction.start_timestamp);
    const end = seconds(transaction.timestamp);
    const data = transaction.contexts.trace.data || {};
    const cold = (transaction.tags || {}).cold_start === "true";
    const browser = transaction.contexts.trace.op === "ui.action.scenario";
    const init = data["faas.init_duration_ms"];
    const label = `${browser ? "page" : "λ"} ${transaction.transaction}${cold ? ` · cold start, init ${Math.round(init || 0)} ms` : ""}`;
    container.append(
      bar(
        label,
        start,
        end,
        origin,
        scale,
        browser ? "wf-browser" : cold ? "wf-lambda wf-cold" : "wf-lambda",
        ms(end - start),
      ),
    );
    if (cold && init) {
      // the Init phase comes before the handler's transaction, billed as Init Duration
      const label = `init (cold start) ${Math.round(init)} ms`;
      container.append(bar(label, start - init / 1000, start, origin, scale, "wf-cold wf-init", label));
    }
    for (const row of groupRepeats([...(transaction.spans || [])].sort(bySpanStart))) {
      const first = row.spans[0];
      const last = row.spans[row.spans.length - 1];
      const what = spanLabel(first);
      const label = row.repeated ? `${row.spans.length} × ${what} (N+1)` : what;
      const classes = row.repeated ? "wf-span n-plus-one" : isDb(first) ? "wf-span wf-db" : "wf-span";
      const element = bar(
        label,
        seconds(first.start_timestamp),
        seconds(last.timestamp),
        origin,
        scale,
        classes,
        label,
      );
      if (row.repeated) element.dataset.repeats = String(row.spans.length);
      container.append(element);
    }
  }
  for (const warning of trace.warnings) {
    const values = (warning.exception && warning.exception.values) || [];
    if (!values.some((v) => v.type === "ServerlessTimeoutWarning")) continue;
    const at = seconds(warning.timestamp);
    container.append(
      bar("⚠ ServerlessTimeoutWarning", at, at, origin, scale, "wf-warning", `at ${ms(at - origin)}`),
    );
  }
}

export function traceSeconds(trace) {
  const all = trace.transactions;
  if (!all.length) return 0;
  return (
    Math.max(...all.map((t) => seconds(t.timestamp))) -
    Math.min(...all.map((t) => seconds(t.start_timestamp)))
  );
}

// A small SVG chart: memory (MB) per call, the anti-pattern against the fix, with MemorySize
// as a dashed line and a cross where a series was killed.
export function memoryChart(series, { limit = null, killedAt = {} } = {}) {
  const width = 280;
  const height = 90;
  const all = Object.values(series).flat();
  const most = Math.max(64, limit || 0, ...all);
  const longest = Math.max(2, ...Object.entries(series).map(([side, v]) => killedAt[side] || v.length));
  const x = (index) => (index / (longest - 1)) * (width - 10) + 5;
  const y = (value) => height - 5 - (value / most) * (height - 10);
  const svg = svgNode("svg", { viewBox: `0 0 ${width} ${height}`, class: "memory-chart", role: "img" });
  svg.setAttribute("aria-label", "Memory per call (MB): anti-pattern and fix, against MemorySize");
  if (limit) {
    const line = svgNode("line", { x1: 0, x2: width, y1: y(limit), y2: y(limit), class: "memory-limit" });
    line.dataset.limit = String(limit);
    svg.append(line);
  }
  for (const [side, values] of Object.entries(series)) {
    const line = svgNode("polyline", {
      points: values.map((value, index) => `${x(index)},${y(value)}`).join(" "),
      class: `memory-${side}`,
    });
    line.dataset.points = String(values.length);
    svg.append(line);
    if (killedAt[side]) {
      const at = `${x(killedAt[side] - 1)},${y(limit || most) + 12}`;
      const kill = svgNode("text", { class: `memory-kill memory-${side}-kill`, "text-anchor": "middle" });
      kill.setAttribute("transform", `translate(${at})`);
      kill.textContent = "✕";
      kill.dataset.call = String(killedAt[side]);
      svg.append(kill);
    }
  }
  return svg;
}

function svgNode(tag, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}
