import { existsSync } from "node:fs";
import path from "node:path";
import express from "express";
import { packageRoot } from "../db/package-root.js";

/** Where `npm run build` puts the page (vite, web/vite.config.ts). */
export function webDir(): string {
  return path.join(packageRoot(), "dist", "web");
}

/**
 * The GraphQL IDE (web/graphiql.html, GraphiQL from our bundle) for a browser's GET on the GraphQL path: a request that
 * prefers text/html to a GraphQL response, as Apollo decides for its landing page (disabled in app.ts: its Sandbox
 * loads from a CDN). Everything else falls through to the API. Mount it before the GraphQL route.
 */
export function mountIde(app: express.Express, route: string, dir: string = webDir()): void {
  const page = path.join(dir, "graphiql.html");
  app.get(route, (req, res, next) => {
    if (req.accepts(["application/json", "application/graphql-response+json", "text/html"]) !== "text/html") return next();
    // the page's assets are relative (./assets/...): from /graphql/ they would resolve under /graphql/
    if (req.path.endsWith("/")) return res.redirect(301, route);
    if (!existsSync(page)) {
      res.status(503).type("text/plain").send(`The GraphQL IDE is not built (${page} is missing): run \`npm run build\`.\n`);
      return;
    }
    res.set("cache-control", "no-cache").sendFile(page);
  });
}

/**
 * The playground and run dashboard (web/) as static files at `/`. Mount it after the GraphQL route. Hashed assets are
 * cached for good; index.html is revalidated so a rebuilt page shows up on reload.
 */
export function mountWeb(app: express.Express, dir: string = webDir()): void {
  if (!existsSync(path.join(dir, "index.html"))) {
    app.get("/", (_req, res) => {
      res.status(503).type("text/plain").send(`The web page is not built (${path.join(dir, "index.html")} is missing): run \`npm run build\`.\n`);
    });
    return;
  }
  app.use("/assets", express.static(path.join(dir, "assets"), { immutable: true, maxAge: "365d", fallthrough: false }));
  app.use(express.static(dir, { index: "index.html", maxAge: 0 }));
}
