// Builds the debug page into dist/: the bundle (with @sentry/browser) and the static files.
// Offline: esbuild and the SDK come from node_modules; nothing is fetched at run time.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["chrome120", "firefox120", "safari16"],
  outfile: "dist/app.js",
  logLevel: "warning",
});
for (const file of ["index.html", "styles.css"]) await copyFile(`src/${file}`, `dist/${file}`);
console.log("page: built dist/ (index.html, styles.css, app.js)");
