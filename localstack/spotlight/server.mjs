// Spotlight's sidecar and UI on loopback, without the CLI: the `spotlight` command loads a
// module that sends Sentry telemetry of its own to Sentry's SaaS, and listens on every
// interface. This starts the same server through the package's exported setupSpotlight().
import net from "node:net";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const host = process.env.SPOTLIGHT_HOST || "127.0.0.1";
const port = Number(process.env.SPOTLIGHT_PORT || 8969);
const allowedOrigins = (process.env.SPOTLIGHT_ALLOWED_ORIGINS || "")
  .split(",")
  .map((origin) => origin.trim())
  .filter(Boolean);

// @hono/node-server calls listen(port, undefined, cb): pin every listen to our host.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number") {
    const callback = args.find((arg) => typeof arg === "function");
    return listen.call(this, { port: args[0], host }, ...(callback ? [callback] : []));
  }
  if (args[0] && typeof args[0] === "object" && !args[0].host && !args[0].path) {
    args[0] = { ...args[0], host };
  }
  return listen.apply(this, args);
};

// the package's main module is dist/server/main.js; its UI files sit in dist/ui
const uiDir = join(dirname(fileURLToPath(import.meta.resolve("@spotlightjs/spotlight"))), "..", "ui");
const filesToServe = Object.create(null);
filesToServe["index.html"] = readFileSync(join(uiDir, "index.html"));
for (const entry of Object.values(JSON.parse(readFileSync(join(uiDir, "manifest.json"))))) {
  if (entry && typeof entry.file === "string") filesToServe[entry.file] = readFileSync(join(uiDir, entry.file));
}

const { setupSpotlight } = await import("@spotlightjs/spotlight");
const server = await setupSpotlight({
  port,
  basePath: process.cwd(),
  filesToServe,
  isStandalone: true,
  allowedOrigins: allowedOrigins.length ? allowedOrigins : undefined,
});
if (!server) {
  console.error(`Spotlight: port ${port} is taken by another Spotlight; not starting a second one.`);
  process.exit(1);
}
console.log(`Spotlight listening on http://${host}:${port}`);
