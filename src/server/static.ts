import { existsSync } from "node:fs";
import path from "node:path";
import express from "express";
import { packageRoot } from "../db/package-root.js";

/** Where `npm run build` puts the page (vite, web/vite.config.ts). */
export function webDir(): string {
  return path.join(packageRoot(), "dist", "web");
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
