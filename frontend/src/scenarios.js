// Every scenario of the debug panel and its fix: what each button sends. The page renders
// this table; docs/scenarios.md explains each one.

const spinBody = (ctx, extra = {}) => ({ user_id: ctx.user, bet: ctx.bet, ...extra });

export const SCENARIOS = [
  {
    id: "n-plus-one",
    title: "N+1 queries",
    what: "Game history: one query for the ids of the last 20 games, then one query per game.",
    look: "21+ identical db spans under one parent: Sentry's N+1 detector flags them.",
    antipattern: { label: "N+1 history", request: (ctx) => ({ method: "GET", path: `/api/v1/users/${ctx.user}/history?mode=antipattern` }) },
    fix: { label: "Optimized history", request: (ctx) => ({ method: "GET", path: `/api/v1/users/${ctx.user}/history?mode=optimized` }) },
  },
  {
    id: "cpu-spike",
    title: "CPU spike",
    spins: true, // moves money: one Idempotency-Key per click, retried until the outcome is known
    what: "A spin with cpu_intensive: a naive trial-division prime search (5-10 s of real CPU).",
    look: "cpu.prime_generation span, the profile's hot frames, tag performance.issue=cpu_spike.",
    antipattern: { label: "CPU spike", request: (ctx) => ({ method: "POST", path: "/api/v1/spin?mode=antipattern", body: spinBody(ctx, { cpu_intensive: true }) }) },
    fix: { label: "CPU optimized (sieve)", request: (ctx) => ({ method: "POST", path: "/api/v1/spin?mode=optimized", body: spinBody(ctx, { cpu_intensive: true }) }) },
  },
  {
    id: "timeout",
    title: "Lambda timeout",
    spins: true,
    retries: 0, // the timeout is the point: shown, not retried (the key still guards a resend)
    what: "The same CPU work sized past the game engine's Timeout (15 s): the runtime is killed.",
    look: "ServerlessTimeoutWarning 1.5 s before the deadline, then 'Task timed out' in the logs.",
    antipattern: { label: "Timeout", request: (ctx) => ({ method: "POST", path: "/api/v1/scenarios/timeout?mode=antipattern", body: spinBody(ctx) }) },
    fix: { label: "Bounded work", request: (ctx) => ({ method: "POST", path: "/api/v1/scenarios/timeout?mode=optimized", body: spinBody(ctx) }) },
  },
  {
    id: "cold-start",
    title: "Cold start",
    what: "Heavy module-level initialisation (prime table, RTP simulation, indexes) versus lazy.",
    look: "Tag cold_start=true and faas.init_duration_ms on the first call of an environment.",
    antipattern: { label: "Cold start (eager init)", request: () => ({ method: "GET", path: "/api/v1/scenarios/cold-start/eager" }) },
    fix: { label: "Lazy init", request: () => ({ method: "GET", path: "/api/v1/scenarios/cold-start/lazy" }) },
  },
  {
    id: "slow-aggregation",
    title: "Slow aggregation",
    what: "Daily stats: an index-hostile pipeline scans every game (COLLSCAN).",
    look: "One long db span; analytics.days_processed and analytics.total_games; explain below.",
    antipattern: { label: "Slow aggregation", request: (ctx) => ({ method: "GET", path: `/api/v1/analytics/daily-stats?days=${ctx.days}&mode=antipattern` }) },
    fix: { label: "Indexed aggregation", request: (ctx) => ({ method: "GET", path: `/api/v1/analytics/daily-stats?days=${ctx.days}&mode=optimized` }) },
  },
  {
    id: "many-queries",
    title: "Too many queries",
    what: "Player metrics: five separate queries where one aggregation does.",
    look: "5 db spans versus 1; db.queries_executed.",
    antipattern: { label: "Player metrics: 5 queries", request: (ctx) => ({ method: "GET", path: `/api/v1/analytics/player-metrics/${ctx.user}?mode=antipattern` }) },
    fix: { label: "Player metrics: 1 aggregation", request: (ctx) => ({ method: "GET", path: `/api/v1/analytics/player-metrics/${ctx.user}?mode=optimized` }) },
  },
  {
    id: "memory-leak",
    title: "Memory leak",
    what: "A module-level cache that grows on every warm invoke until MemorySize (256 MB) is reached.",
    look: "X-Memory-Mb climbs; REPORT's Max Memory Used; then 'Runtime exited with error: signal: killed'.",
    antipattern: { label: "Memory leak", request: () => ({ method: "POST", path: "/api/v1/scenarios/memory-leak?mode=antipattern" }) },
    fix: { label: "Bounded cache", request: () => ({ method: "POST", path: "/api/v1/scenarios/memory-leak?mode=optimized" }) },
  },
  {
    id: "connection-churn",
    title: "Connection churn",
    what: "Balance with a new MongoClient (TCP connect + handshake) on every call.",
    look: "An extra db.connection span on every invoke; the pooled twin has none when warm.",
    antipattern: { label: "Connection churn", request: (ctx) => ({ method: "GET", path: `/api/v1/users/${ctx.user}/balance?mode=antipattern` }) },
    fix: { label: "Pooled client", request: (ctx) => ({ method: "GET", path: `/api/v1/users/${ctx.user}/balance?mode=optimized` }) },
  },
];

// One click, three services: the page's span, the game engine, the user service and analytics
// all share one trace id.
export const CASCADE = {
  id: "cascade",
  title: "Cascade across services",
  what: "Spin (game engine -> user service), then balance and player metrics: one distributed trace.",
  look: "One trace id from the page through every Lambda transaction.",
  steps: (ctx) => [
    { method: "POST", path: "/api/v1/spin", body: spinBody(ctx) },
    { method: "GET", path: `/api/v1/users/${ctx.user}/balance` },
    { method: "GET", path: `/api/v1/analytics/player-metrics/${ctx.user}?mode=optimized` },
  ],
};
