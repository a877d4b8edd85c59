// Requests from the scenario table the page receives in its config (window.SLOT_CONFIG,
// written by deploy-local from demo/scenario_catalog.py, the one table). Routes and values
// are templates: {user_id} in a route, and "{user}", "{bet}", "{days}" as values.

const PLACEHOLDER = /^\{(user|bet|days)\}$/;

function fill(value, ctx) {
  if (typeof value === "string" && PLACEHOLDER.test(value)) return ctx[value.slice(1, -1)];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, ctx)]));
  }
  return value;
}

export function requestFor(template, ctx) {
  const path = template.route.replace(/\{\w+\}/g, () => encodeURIComponent(ctx.user));
  const query = Object.entries(template.query || {})
    .map(([key, value]) => `${key}=${encodeURIComponent(fill(value, ctx))}`)
    .join("&");
  return {
    method: template.method,
    path: query ? `${path}?${query}` : path,
    body: template.body === null || template.body === undefined ? undefined : fill(template.body, ctx),
  };
}
