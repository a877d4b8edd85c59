// Sentry in the browser: one trace from the click through API Gateway into every Lambda.
// With a DSN the page reports to Sentry and Spotlight's browser integration copies every
// envelope to the local viewer. Without one, the SDK's DSN is Spotlight's own envelope
// endpoint: a client without a DSN is disabled, and a disabled client adds no sentry-trace
// or baggage headers, which would break the trace at the first request.
import * as Sentry from "@sentry/browser";

export function spotlightDsn(spotlightUrl) {
  const url = new URL(spotlightUrl);
  return `${url.protocol}//spotlight@${url.host}/0`;
}

export function initTracing(config) {
  if (!config.sentryDsn && !config.spotlightUrl) return; // on AWS without a DSN: no tracing
  const integrations = [Sentry.browserTracingIntegration({ instrumentNavigation: false })];
  if (config.sentryDsn && config.spotlightUrl) {
    integrations.push(Sentry.spotlightBrowserIntegration({ sidecarUrl: `${config.spotlightUrl}/stream` }));
  }
  Sentry.init({
    dsn: config.sentryDsn || spotlightDsn(config.spotlightUrl),
    environment: config.environment || "local",
    release: config.release || undefined,
    integrations,
    tracesSampleRate: 1.0,
    // sentry-trace and baggage go to our API only (CORS allows exactly these headers)
    tracePropagationTargets: [config.apiUrl],
  });
}

// Runs `work` inside a span of its own trace; returns [result, traceId].
export async function inTrace(name, work) {
  return Sentry.startNewTrace(() =>
    Sentry.startSpan({ name, op: "ui.action.scenario", forceTransaction: true }, async (span) => {
      const traceId = span.spanContext().traceId;
      try {
        return [await work(), traceId];
      } catch (error) {
        error.traceId = traceId;
        Sentry.captureException(error);
        throw error;
      }
    }),
  );
}

export function traceLinks(config, traceId) {
  const links = config.spotlightUrl
    ? [{ label: "Spotlight", href: `${config.spotlightUrl}/telemetry/traces/${traceId}` }]
    : [];
  if (config.sentryDsn && config.sentryOrgUrl) {
    links.push({
      label: "Sentry",
      href: `${config.sentryOrgUrl.replace(/\/$/, "")}/performance/trace/${traceId}/`,
    });
  }
  return links;
}
