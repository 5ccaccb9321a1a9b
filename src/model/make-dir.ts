import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdir(dir, { recursive: true })` never returns where a parent exists
 * but refuses children with ENOENT (under /proc): it retries the parent for ever, and a process waiting on it cannot
 * even exit. Here every failure comes back as the errno error of the directory that could not be made.
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (await stat(dir).then((s) => s.isDirectory(), () => false)) return;
      throw err;
    }
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw err;
    await makeDir(parent);
  }
  await mkdir(dir).catch(async (err: NodeJS.ErrnoException) => {
    // made meanwhile by someone else
    if (err.code !== "EEXIST" || !(await stat(dir).then((s) => s.isDirectory(), () => false))) throw err;
  });
}
