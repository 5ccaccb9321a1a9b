import { execFileSync } from "node:child_process";
import path from "node:path";
import { packageRoot } from "../src/db/package-root.js";

/** Compile dist/ once before any test file runs: the tests that start `bin/tunegraph.js` as a process run the build. */
export default function setup(): void {
  const root = packageRoot();
  execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
