import { readdir, stat } from "node:fs/promises";
import path from "node:path";

/** Total size of the files under `dir` (a model, adapter or export directory). */
export async function directorySize(dir: string): Promise<number> {
  const s = await stat(dir);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await directorySize(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}
