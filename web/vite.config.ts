import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

// The page is served by the API (src/server/static.ts) from dist/web; everything is bundled, nothing loads from a CDN.
export default defineConfig({
  root: here,
  base: "./",
  publicDir: false,
  build: {
    outDir: path.resolve(here, "../dist/web"),
    emptyOutDir: true,
    target: "es2022",
    // the dashboard stays small; the GraphQL IDE (React + CodeMirror) is its own page, loaded only on /graphql
    chunkSizeWarningLimit: 1300,
    rollupOptions: {
      input: { main: path.join(here, "index.html"), graphiql: path.join(here, "graphiql.html") },
      onwarn(warning, warn) {
        // React libraries' "use client" markers mean nothing outside a server-components framework
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  server: {
    // `npx vite --config web/vite.config.ts` during development: the API of TUNEGRAPH_API_URL, or on its default port
    proxy: { "/graphql": { target: process.env.TUNEGRAPH_API_URL ?? "http://127.0.0.1:4000", ws: true } },
  },
});
