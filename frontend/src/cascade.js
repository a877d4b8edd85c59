// The cascade: one flow across services, drawn as one waterfall with a lane per service, the
// calls between them and the critical path (the chain of calls that decides when the page is
// answered). Its twin is the same flow without the slow link, so the page shows how one slow
// service delays every call after it.
import { call, callOnce } from "./api.js";
import { requestFor } from "./scenarios.js";
import { isPageTransaction, ms, waterfallRow as row } from "./traces.js";

// The side's request, then the catalog's later steps, one after the other, in the press's trace.
export async function runCascade(config, scenario, first, ctx) {
  const [spin, ...reads] = [first, ...scenario.steps].map((template) => requestFor(template, ctx));
  const results = [await callOnce(config, spin, { retries: scenario.retries })];
  for (const step of reads) results.push(await call(config, step));
  const failed = results.find((r) => !r.ok);
  return {
    ...results[results.length - 1],
    status: failed ? failed.status : 200,
    ok: !failed,
    durationMs: results.reduce((sum, r) => sum + r.durationMs, 0),
    // the spin's two (game engine, user balance), then one a step
    lambdaTransactions: 1 + results.length,
    body: results.map((r) => ({ request: `${r.method} ${r.path}`, status: r.status, body: r.body })),
  };
}

const seconds = (value) => (typeof value === "number" ? value : Date.parse(value) / 1000);
const start = (t) => seconds(t.start_timestamp);
const end = (t) => seconds(t.timestamp);
// a lane per service: transactions are named after their route, the function is in faas.name
const serviceOf = (t) => (t.tags && t.tags["faas.name"]) || t.transaction;
const laneOf = (t) => (isPageTransaction(t) ? "page" : serviceOf(t));

// The transactions that `tx` called: their parent span is one of its spans.
function calledBy(tx, all) {
  const ids = new Set([tx.contexts.trace.span_id, ...(tx.spans || []).map((s) => s.span_id)]);
  return all.filter((t) => t !== tx && ids.has(t.contexts.trace.parent_span_id));
}

// Walking back from the end: the latest-ending call, then the latest one that ended before it
// began, and so on, inside each call too. Concurrent calls leave the shorter ones off the path.
export function criticalPath(tx, all) {
  const path = [tx];
  let cursor = Infinity;
  for (const child of calledBy(tx, all).sort((a, b) => end(b) - end(a))) {
    if (end(child) > cursor + 0.001) continue;
    path.push(...criticalPath(child, all));
    cursor = start(child);
  }
  return path;
}

// One waterfall: a lane per service, then one row per call between services.
export function drawCascade(container, trace, scale) {
  container.replaceChildren();
  const all = [...trace.transactions].sort((a, b) => start(a) - start(b));
  const root = all.find(isPageTransaction);
  if (!root) {
    container.textContent = "The trace has not reached the trace viewer (is Spotlight running?).";
    return;
  }
  const origin = start(root);
  const critical = new Set(criticalPath(root, all));
  const lanes = [...new Set(all.map(laneOf))];
  container.append(element("p", "wf-heading", "Services (a lane each; critical path in red)"));
  for (const lane of lanes) {
    const bars = all
      .filter((t) => laneOf(t) === lane)
      .map((t) => ({
        start: start(t),
        end: end(t),
        critical: critical.has(t),
        title: `${lane}: ${ms(end(t) - start(t))}`,
      }));
    container.append(row(lane === "page" ? "page" : `λ ${lane}`, "wf-lane", bars, origin, scale));
  }
  container.append(element("p", "wf-heading", "Calls between them"));
  for (const callee of all.filter((t) => t !== root)) {
    const caller = all.find((t) => calledBy(t, all).includes(callee));
    const label = `${caller ? laneOf(caller) : "?"} → ${laneOf(callee)} (${ms(end(callee) - start(callee))})`;
    const bar = { start: start(callee), end: end(callee), critical: critical.has(callee), title: label };
    container.append(
      row(label, `wf-call${critical.has(callee) ? " on-critical-path" : ""}`, [bar], origin, scale),
    );
  }
  container.dataset.lanes = lanes.join(",");
  container.dataset.critical = String(critical.size);
  container.dataset.seconds = (Math.max(...all.map(end)) - origin).toFixed(3);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

// What the comparison says: the slow run's slowest service against the same one in its twin.
export function cascadeComparison(slow, fast) {
  const lambdas = (trace) => trace.transactions.filter((t) => !isPageTransaction(t));
  const took = (t) => end(t) - start(t);
  const slowest = lambdas(slow).reduce((most, t) => (!most || took(t) > took(most) ? t : most), null);
  const twin = slowest && lambdas(fast).find((t) => serviceOf(t) === serviceOf(slowest));
  if (!twin) return "";
  return `${serviceOf(slowest)} took ${ms(took(slowest))} vs ${ms(took(twin))}, and every call after it waited`;
}
