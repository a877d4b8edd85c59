// The debug page: a slot machine, and one button per scenario and per fix with their traces.
import { call, callOnce, errorText } from "./api.js";
import { cascadeComparison, drawCascade, runCascade } from "./cascade.js";
import { requestFor } from "./scenarios.js";
import { tourControls } from "./tour.js";
import { inTrace, initTracing, traceLinks } from "./tracing.js";
import { drawTrace, followSpotlight, memoryChart, summarise, traceSeconds, waitForTrace } from "./traces.js";

const config = window.SLOT_CONFIG;
const cards = new Map(); // scenario id -> card
const $ = (selector, root = document) => root.querySelector(selector);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

function context() {
  return { user: $("#user").value, bet: Number($("#bet").value), days: Number($("#days").value) };
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

// --- running a request, with its trace, while its button is disabled ------------------------
async function runTraced(button, name, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await inTrace(name, work);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// A request whose failure is the scenario's point (the timeout): said as the expected outcome,
// not as a spin whose outcome is unknown.
function expectedFailure(variant, error) {
  if (!variant.outcome || variant.expectedStatus < 500) return null;
  const after = error.durationMs ? ` after ${formatMs(error.durationMs)}` : "";
  return `Expected outcome${after}: ${variant.outcome}`;
}

function renderResult(pane, result, traceId, error, expected = null) {
  pane.replaceChildren();
  pane.classList.toggle("failed", !expected && (Boolean(error) || (result && !result.ok)));
  pane.classList.toggle("expected", Boolean(expected));
  const facts = element("dl", { class: "facts" });
  const fact = (label, value) =>
    value !== null &&
    value !== undefined &&
    facts.append(element("dt", { text: label }), element("dd", { text: String(value) }));
  if (result) {
    fact("Status", result.status);
    fact("Duration", formatMs(result.durationMs));
    fact("DB queries", result.dbQueries);
    fact("Cold start", result.coldStart);
    fact("Memory", result.memoryMb ? `${result.memoryMb} MB` : null);
  } else if (error) {
    fact("Status", "no response");
    fact("Duration", error.durationMs ? formatMs(error.durationMs) : null);
  }
  const trace = element("dd", { class: "trace" }, element("code", { text: traceId || "-" }));
  for (const link of traceId ? traceLinks(config, traceId) : []) {
    trace.append(" ", element("a", { href: link.href, target: "_blank", rel: "noopener", text: link.label }));
  }
  if (traceId) trace.append(" ", copyButton(traceId));
  facts.append(element("dt", { text: "Trace id" }), trace);
  pane.append(facts);
  const message = error ? error.message : errorText(result);
  if (expected) pane.append(element("p", { class: "expected-outcome", role: "status", text: expected }));
  else if (message) pane.append(element("p", { class: "error", role: "alert", text: message }));
  if (result) {
    const json = typeof result.body === "string" ? result.body : JSON.stringify(result.body, null, 2);
    pane.append(
      element(
        "details",
        {},
        element("summary", { text: "Response" }),
        element("pre", { text: json.slice(0, 4000) }),
      ),
    );
  }
  pane.dataset.traceId = traceId || "";
  pane.dataset.status = result ? String(result.status) : "error";
}

// Spotlight's trace links land on its list (its UI cannot open one trace on a fresh load):
// the id, copied, finds it through Spotlight's search box.
function copyButton(traceId) {
  const button = element("button", {
    type: "button",
    class: "copy",
    text: "Copy id",
    title: "Copy the trace id, then paste it into Spotlight's search",
  });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(traceId);
    } catch {
      // not a secure context (the S3 website endpoint is plain http): select and copy the old way
      const field = element("textarea", { class: "copy-source", "aria-hidden": "true" });
      field.value = traceId;
      document.body.append(field);
      field.select();
      document.execCommand("copy");
      field.remove();
    }
    button.dataset.copied = traceId;
    button.textContent = "Copied: paste it into Spotlight's search";
  });
  return button;
}

// What each comparison is about: time alone is not the point everywhere.
const COMPARISONS = {
  "n-plus-one": (slow, fast) =>
    `${slow.dbSpans} vs ${fast.dbSpans} db queries (${slow.repeats} identical in a row: the N+1)`,
  "many-queries": (slow, fast) =>
    `${slow.dbSpans} vs ${fast.dbSpans} round trips to MongoDB, counted from the spans`,
  "connection-churn": (slow, fast) =>
    `${slow.connections} vs ${fast.connections} connections opened (db.connection spans)`,
  "cpu-spike": (slow, fast) => `${slow.cpuSpans} vs ${fast.cpuSpans} cpu.* spans`,
  "cold-start": (slow, fast) =>
    `Init Duration ${slow.initMs.map(Math.round).join(", ") || "none (warm)"} vs ${fast.initMs.map(Math.round).join(", ") || "none (warm)"} ms`,
};

function renderComparison(card) {
  const target = $(".comparison", card.node);
  const slow = card.results.antipattern;
  const fast = card.results.fix;
  const id = card.scenario.id;
  if (id === "timeout" && (card.failed.antipattern || (slow && !slow.ok))) {
    const killedAfter = card.failed.antipattern ? card.failed.antipattern.durationMs : slow.durationMs;
    const warned = card.traces.antipattern && summarise(card.traces.antipattern).timeoutWarning;
    const fixed =
      fast && fast.ok
        ? `; the bounded work finished in ${formatMs(fast.durationMs)}`
        : "; run the fix to compare";
    target.textContent = `Killed after ${formatMs(killedAfter)} (the ${config.gameEngineTimeoutS} s Timeout)${warned ? ", with the ServerlessTimeoutWarning" : ""}${fixed}`;
    return;
  }
  if (id === "memory-leak") {
    target.replaceChildren(
      element("span", { text: memorySentence(card) }),
      memoryChart(card.memory, { limit: card.memoryLimitMb, killedAt: card.killedAt }),
    );
    return;
  }
  const memory = memoryIsCpu(card);
  if (!slow || !fast || !slow.ok || !fast.ok) {
    target.textContent = ["Run both to compare.", memory].filter(Boolean).join(" ");
    return;
  }
  let text = `Time: ${formatMs(slow.durationMs)} vs ${formatMs(fast.durationMs)}`;
  const traces = card.traces;
  if (card.scenario.steps.length && traces.antipattern && traces.fix) {
    text += `; ${cascadeComparison(traces.antipattern, traces.fix)}`;
  } else if (COMPARISONS[id] && traces.antipattern && traces.fix) {
    text += `; ${COMPARISONS[id](summarise(traces.antipattern), summarise(traces.fix))}`;
  } else if (slow.dbQueries && fast.dbQueries) {
    text += `; ${slow.dbQueries} vs ${fast.dbQueries} db queries`;
  }
  target.textContent = [text, memory].filter(Boolean).join(". ");
}

// The same anti-pattern on a function of another MemorySize (the card's third button): on
// Lambda a function gets MemorySize/1769 of a vCPU, so its time scales with memory.
function memoryIsCpu(card) {
  const at = (result) => result && result.ok && result.body && result.body.cpu;
  const full = card.results.antipattern;
  const less = card.results.also;
  if (!card.scenario.also || !at(less)) return "";
  const lessText = `${formatMs(less.durationMs)} at ${at(less).memory_mb} MB`;
  if (!at(full)) return `Memory is CPU: ${lessText}; run the anti-pattern to compare.`;
  return `Memory is CPU: the same work took ${formatMs(full.durationMs)} at ${at(full).memory_mb} MB and ${lessText} (Lambda gives MemorySize/1769 of a vCPU).`;
}

// Where the leak stands against MemorySize, and the bounded cache beside it.
function memorySentence(card) {
  const { antipattern: leak, fix } = card.memory;
  const limit = card.memoryLimitMb ? `MemorySize ${card.memoryLimitMb} MB` : "MemorySize";
  const last = (values) => values[values.length - 1];
  let text;
  if (card.killedAt.antipattern) {
    const before = leak.length ? `after ${last(leak)} MB at call ${leak.length}` : "at its first call";
    text = `Leak: killed at call ${card.killedAt.antipattern}, ${before}: its next growth passed ${limit}`;
  } else if (leak.length) {
    text = `Leak: ${leak[0]} -> ${last(leak)} MB over ${leak.length} calls (${limit}), not killed yet`;
  } else {
    text = "Leak: not run yet";
  }
  const bounded = fix.length
    ? `bounded cache: ${Math.min(...fix)}-${Math.max(...fix)} MB over ${fix.length} calls`
    : "bounded cache: not run yet";
  return `${text}; ${bounded}.`;
}

// The waterfalls of both sides, on one time scale.
function redrawTraces(card) {
  const scale = Math.max(0.001, ...Object.values(card.traces).map(traceSeconds));
  for (const [side, trace] of Object.entries(card.traces)) {
    const draw = card.scenario.steps.length ? drawCascade : drawTrace;
    draw($(`#${card.scenario.id}-${side}-trace`), trace, scale);
  }
}

// One press of a series scenario (the memory leak): warm calls until the runtime is killed or
// the catalog's bound, the chart redrawn after each. A kill ends the series, not the press.
async function runSeries(card, side, request) {
  const values = [];
  card.memory[side] = values;
  card.killedAt[side] = null;
  let last = null;
  for (let number = 1; number <= card.scenario.series; number += 1) {
    let result;
    try {
      result = await call(config, request);
    } catch (error) {
      if (!values.length) throw error; // nothing answered: not a kill to chart
      card.killedAt[side] = number;
      break;
    }
    if (result.status >= 500 && values.length) {
      card.killedAt[side] = number;
      break;
    }
    if (!result.ok) return { ...result, calls: values.length };
    last = result;
    values.push(Number(result.memoryMb));
    card.memoryLimitMb = result.memoryLimitMb || card.memoryLimitMb;
    renderComparison(card);
  }
  return { ...last, calls: values.length };
}

// A run that ended in a timeout or a kill: its runtime sends nothing more, so the page draws
// what came (its own span, the warning) at once instead of waiting for transactions.
const KILLED_RUN_WAIT_MS = 2000;

async function showTrace(card, side, traceId, killed = false, lambdas = 1) {
  if (!traceId || !config.spotlightUrl) return;
  const panel = $(`#${card.scenario.id}-${side}-trace`);
  panel.textContent = "Waiting for the trace...";
  card.traces[side] = await waitForTrace(
    traceId,
    killed
      ? { minTransactions: 1, timeoutMs: KILLED_RUN_WAIT_MS, untilPage: true }
      : { minTransactions: 1 + lambdas, untilPage: true },
  );
  redrawTraces(card);
  renderComparison(card);
}

// The card's optional step before each press (the cold start's "force a cold start"): its own
// trace, so that the scenario's trace holds the scenario only.
function prepareChoice(scenario) {
  const id = `${scenario.id}-prepare`;
  const box = element("input", { type: "checkbox", id, checked: "checked" });
  return element("label", { class: "choice", for: id }, box, ` ${scenario.prepare.label}`);
}

async function prepare(card, button, pane) {
  const box = $(`#${card.scenario.id}-prepare`);
  if (!card.scenario.prepare || !box || !box.checked) return;
  pane.replaceChildren(
    element("p", { class: "hint", text: "Forcing a cold start (a configuration change)..." }),
  );
  const [result] = await runTraced(button, card.scenario.prepare.label, () =>
    call(config, requestFor(card.scenario.prepare, context())),
  );
  if (result.status === 403) {
    // switched off here (DANGEROUS_SCENARIOS_ENABLED=false, make deploy-aws's default): say so
    // once and run the scenario as it is
    box.checked = false;
    box.disabled = true;
    box.parentElement.title = errorText(result);
    return;
  }
  if (!result.ok)
    throw Object.assign(new Error(`Forcing a cold start failed: ${errorText(result)}`), { result });
  pane.replaceChildren(element("p", { class: "hint", text: "Running (both functions start cold)..." }));
}

// One press of a side: its request(s) in one trace, the answer, the comparison, the waterfall.
async function runSide(card, side, button, pane) {
  const scenario = card.scenario;
  const variant = scenario[side];
  pane.replaceChildren(element("p", { class: "hint", text: "Running..." }));
  let drawn;
  try {
    await prepare(card, button, pane);
    const request = requestFor(variant, context());
    const send = () =>
      scenario.steps.length
        ? runCascade(config, scenario, variant, context())
        : scenario.series > 1
          ? runSeries(card, side, request)
          : scenario.spins
            ? callOnce(config, request, { retries: scenario.retries })
            : call(config, request);
    const [result, traceId] = await runTraced(button, `${scenario.title}: ${variant.label}`, send);
    card.results[side] = result;
    card.failed[side] = null;
    if (result.memoryMb && scenario.series <= 1) card.memory[side].push(Number(result.memoryMb));
    renderResult(pane, result, traceId);
    renderComparison(card);
    const killed = result.status >= 500 || Boolean(card.killedAt[side]);
    const lambdas = result.lambdaTransactions ?? (result.calls ?? 1) * (scenario.spins ? 2 : 1);
    drawn = showTrace(card, side, traceId, killed, lambdas);
  } catch (error) {
    card.results[side] = null;
    card.failed[side] = error;
    renderResult(pane, error.result || null, error.traceId, error, expectedFailure(variant, error));
    renderComparison(card);
    drawn = showTrace(card, side, error.traceId, true);
  }
  if (scenario.spins) refreshBalance();
  await drawn;
}

const SIDE_TITLES = { antipattern: "Anti-pattern", fix: "Fix", also: "Anti-pattern, less memory" };

function scenarioCard(scenario) {
  const card = {
    scenario,
    results: {},
    failed: {},
    traces: {},
    memory: { antipattern: [], fix: [], also: [] },
    killedAt: { antipattern: null, fix: null, also: null },
    memoryLimitMb: null,
    run: {}, // side -> a press, resolved when its trace is drawn (the tour waits for it)
    node: null,
  };
  const panes = {};
  const buttons = element("div", { class: "buttons" });
  const columns = element("div", { class: "columns" });
  for (const side of ["antipattern", "fix", ...(scenario.also ? ["also"] : [])]) {
    const variant = scenario[side];
    const id = `${scenario.id}-${side}`;
    const pane = element(
      "div",
      { class: `result ${side}`, id: `${id}-result`, "aria-live": "polite" },
      element("p", { class: "hint", text: "Not run yet." }),
    );
    panes[side] = pane;
    const button = element("button", {
      type: "button",
      id: `${id}-button`,
      class: side,
      "data-scenario": scenario.id,
      "data-side": side,
      text: variant.label,
    });
    card.run[side] = () => runSide(card, side, button, pane);
    button.addEventListener("click", card.run[side]);
    buttons.append(button);
    if (side === "fix" && scenario.prepare) buttons.append(prepareChoice(scenario));
    columns.append(
      element(
        "section",
        { "aria-label": `${variant.label} result` },
        element("h4", { text: SIDE_TITLES[side] }),
        pane,
        element("div", { class: "waterfall", id: `${id}-trace`, "aria-label": `${variant.label} trace` }),
      ),
    );
  }
  cards.set(scenario.id, card);
  card.node = element(
    "article",
    { class: "scenario", id: scenario.id, "aria-labelledby": `${scenario.id}-title` },
    element("h3", { id: `${scenario.id}-title`, text: scenario.title }),
    element("p", { text: scenario.what }),
    element("p", { class: "look", text: `Look for: ${scenario.look}` }),
    element("p", { class: "sentry", text: `Sentry creates: ${scenario.sentry}` }),
    buttons,
    columns,
    element("p", { class: "comparison", "aria-live": "polite", text: "Run both to compare." }),
  );
  return card.node;
}

// --- the slot machine ---------------------------------------------------------------------
async function refreshBalance() {
  const target = $("#balance");
  try {
    const result = await call(config, { method: "GET", path: `/api/v1/users/${$("#user").value}/balance` });
    target.textContent = result.ok ? String(result.body.balance) : `error: ${errorText(result)}`;
  } catch (error) {
    target.textContent = `error: ${error.message}`;
  }
}

function showSpinTrace(traceId) {
  if (!traceId) return;
  $("#spin-trace").replaceChildren(
    element("code", { text: traceId }),
    ...traceLinks(config, traceId).map((l) =>
      element("a", { href: l.href, target: "_blank", rel: "noopener", text: ` ${l.label}` }),
    ),
  );
}

function outcomeUnknown(error, request) {
  const outcome = $("#outcome");
  outcome.className = "error";
  const check = element("button", {
    type: "button",
    id: "check-spin",
    class: "check",
    text: "Check outcome",
  });
  check.addEventListener("click", () => spin({ key: error.key, request }));
  outcome.replaceChildren(element("span", { text: `${error.message} ` }), check);
  refreshBalance();
}

async function spin({ key, request } = {}) {
  const button = $("#spin");
  const outcome = $("#outcome");
  const sent = request || {
    method: "POST",
    path: "/api/v1/spin",
    body: { user_id: context().user, bet: context().bet },
  };
  outcome.className = "";
  outcome.textContent = key ? "Checking with the same key..." : "Spinning...";
  const onRetry = (attempt, wait) => {
    outcome.textContent = `No answer yet: retrying with the same key in ${(wait / 1000).toFixed(1)} s (retry ${attempt}).`;
  };
  try {
    const [result, traceId] = await runTraced(button, "Spin", () => callOnce(config, sent, { key, onRetry }));
    showSpinTrace(traceId);
    if (!result.ok) {
      outcome.textContent = `Error ${result.status}: ${errorText(result)}`;
      outcome.className = "error";
      return;
    }
    const reels = document.querySelectorAll(".reel");
    result.body.symbols.forEach((symbol, index) => {
      reels[index].textContent = symbol;
      reels[index].dataset.symbol = symbol;
    });
    outcome.className = result.body.win ? "win" : "";
    outcome.textContent = result.body.win
      ? `Win! ${result.body.multiplier}x pays ${result.body.payout}`
      : "No win this time.";
    if (result.attempts > 1 || result.replayed)
      outcome.textContent += ` (settled after ${result.attempts} ${result.attempts === 1 ? "try" : "tries"}${result.replayed ? ", the stored result" : ""})`;
    $("#balance").textContent = String(result.body.balance);
  } catch (error) {
    showSpinTrace(error.traceId);
    if (error.outcomeUnknown) return outcomeUnknown(error, sent);
    outcome.textContent = error.message;
    outcome.className = "error";
  }
}

// --- explain plans --------------------------------------------------------------------------
async function explain() {
  const button = $("#explain-button");
  const target = $("#explain-result");
  try {
    const [result, traceId] = await runTraced(button, "Explain daily stats", () =>
      call(config, { method: "GET", path: `/api/v1/analytics/daily-stats/explain?days=${context().days}` }),
    );
    target.replaceChildren();
    if (!result.ok) {
      target.append(element("p", { class: "error", role: "alert", text: errorText(result) }));
      return;
    }
    for (const side of ["antipattern", "optimized"]) {
      const plan = result.body[side];
      target.append(
        element(
          "section",
          { class: `plan ${side}`, "aria-label": `${side} plan` },
          element("h4", { text: side === "antipattern" ? "Anti-pattern pipeline" : "Fixed pipeline" }),
          element("p", { class: "stage", "data-stage": plan.stage, text: plan.stage }),
          element("p", {
            text:
              plan.stage === "COLLSCAN"
                ? "Reads every game in the collection."
                : "Walks the timestamp index for the requested days only.",
          }),
          element(
            "details",
            {},
            element("summary", { text: "Pipeline and winning plan" }),
            element("pre", {
              text: JSON.stringify({ pipeline: plan.pipeline, winningPlan: plan.winning_plan }, null, 2),
            }),
          ),
        ),
      );
    }
    target.dataset.traceId = traceId;
  } catch (error) {
    target.replaceChildren(element("p", { class: "error", role: "alert", text: error.message }));
  }
}

function main() {
  if (!config || !config.apiUrl) {
    document.body.prepend(
      element("p", {
        class: "error",
        role: "alert",
        text: "config.js is missing: deploy with `make deploy-local`.",
      }),
    );
    return;
  }
  initTracing(config);
  followSpotlight(config.spotlightUrl);
  const users = $("#user");
  for (const user of config.users) users.append(element("option", { value: user, text: user }));
  $("#viewer-link").href = config.spotlightUrl || config.sentryOrgUrl || "#";
  $("#api-url").textContent = config.apiUrl;
  $("#spin").addEventListener("click", () => spin());
  users.addEventListener("change", refreshBalance);
  $("#explain-button").addEventListener("click", explain);
  $("#scenarios").append(...config.scenarios.map(scenarioCard));
  $("#tour").append(...tourControls(config, cards));
  refreshBalance();
}

main();
