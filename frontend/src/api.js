// Calls the API and measures what the page shows: status, duration, headers, body.

export async function call(config, { method, path, body, headers = {} }) {
  const started = performance.now();
  let response;
  try {
    response = await fetch(`${config.apiUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const failure = new Error(
      `no readable response to ${method} ${path} after ${seconds} s (${error.message}). ` +
        "Either the API is down, or API Gateway answered an error itself (a Lambda timeout or crash) " +
        "without CORS headers: open the trace and the function's logs.",
    );
    failure.durationMs = performance.now() - started;
    throw failure;
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return {
    method,
    path,
    status: response.status,
    ok: response.ok,
    durationMs: performance.now() - started,
    dbQueries: response.headers.get("x-db-queries"),
    memoryMb: response.headers.get("x-memory-mb"),
    memoryLimitMb: Number(response.headers.get("x-memory-limit-mb")) || null,
    coldStart: response.headers.get("x-cold-start"),
    replayed: response.headers.get("idempotent-replayed") === "true",
    retryAfter: Number(response.headers.get("retry-after")) || null,
    body: json ?? text,
  };
}

// --- requests that move money -----------------------------------------------------------------
// One Idempotency-Key per click: a retry with the same key never spins twice (the API replays
// the first result), so a spin is retried on 409/429/5xx/network failures until its outcome
// is known, and otherwise reported as unknown with the key to check it.
const RETRYABLE = new Set([409, 429, 500, 502, 503, 504]);
export const SPIN_RETRIES = 3;

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function callOnce(
  config,
  request,
  { key = newKey(), retries = SPIN_RETRIES, onRetry = () => {} } = {},
) {
  const started = performance.now();
  let result = null;
  let failure = null;
  let attempts = 0;
  for (; attempts <= retries;) {
    attempts += 1;
    try {
      result = await call(config, { ...request, headers: { "Idempotency-Key": key } });
      failure = null;
    } catch (error) {
      result = null;
      failure = error;
    }
    if (result && !RETRYABLE.has(result.status)) break;
    if (attempts > retries) break;
    const wait = result?.retryAfter
      ? Math.min(result.retryAfter, 20) * 1000
      : 500 * 2 ** (attempts - 1) * (0.5 + Math.random());
    onRetry(attempts, wait, result, failure);
    await sleep(wait);
  }
  const durationMs = performance.now() - started;
  if (result && !RETRYABLE.has(result.status)) return { ...result, key, attempts, durationMs };
  const what = result ? `HTTP ${result.status}: ${errorText(result)}` : failure.message;
  const unknown = new Error(
    `The outcome is unknown after ${attempts} ${attempts === 1 ? "try" : "tries"} (${what}). ` +
      "It was applied at most once: check it with the same key.",
  );
  Object.assign(unknown, { outcomeUnknown: true, key, attempts, durationMs, result });
  throw unknown;
}

export function errorText(result) {
  if (result.ok) return "";
  if (result.body && typeof result.body === "object") {
    return (
      result.body.error || result.body.errorMessage || result.body.message || JSON.stringify(result.body)
    );
  }
  return String(result.body || `HTTP ${result.status}`);
}
