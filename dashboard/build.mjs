// Bundles the dashboard into dist/: index.html, app.css and one minified app.js (ECharts
// included, tree-shaken to the chart types we use). x402-api serves dist/ as static files.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: [join(here, "src/main.ts")],
  outfile: join(dist, "app.js"),
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
await copyFile(join(here, "src/index.html"), join(dist, "index.html"));
await copyFile(join(here, "src/app.css"), join(dist, "app.css"));
