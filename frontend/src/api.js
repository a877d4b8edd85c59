// Calls the API and measures what the page shows: status, duration, headers, body.

export async function call(config, { method, path, body }) {
  const started = performance.now();
  let response;
  try {
    response = await fetch(`${config.apiUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
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
    coldStart: response.headers.get("x-cold-start"),
    body: json ?? text,
  };
}

export function errorText(result) {
  if (result.ok) return "";
  if (result.body && typeof result.body === "object") {
    return result.body.error || result.body.errorMessage || result.body.message || JSON.stringify(result.body);
  }
  return String(result.body || `HTTP ${result.status}`);
}
