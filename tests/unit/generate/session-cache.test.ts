import { describe, expect, it } from "vitest";
import { SessionCache } from "../../../src/backends/onnx/session.js";

/** A cache of plain closeable entries that record what happened to them. */
function cache(capacity: number) {
  const opened: string[] = [];
  const closed: string[] = [];
  const c = new SessionCache(capacity, async (dir) => {
    if (dir.endsWith("bad")) throw new Error(`cannot open ${dir}`);
    opened.push(dir);
    return { dir, close: async () => void closed.push(dir) };
  });
  return { c, opened, closed };
}

describe("SessionCache", () => {
  it("opens each directory once and evicts the least recently used past its capacity", async () => {
    const { c, opened, closed } = cache(2);
    const a = await c.get("/m/a");
    expect(await c.get("/m/a/")).toBe(a); // the same directory, spelled differently
    await c.get("/m/b");
    await c.get("/m/a"); // a is now the most recent
    await c.get("/m/c"); // evicts b
    await Promise.resolve();
    expect(opened).toEqual(["/m/a", "/m/b", "/m/c"]);
    expect(closed).toEqual(["/m/b"]);
    expect(c.has("/m/a") && c.has("/m/c") && !c.has("/m/b")).toBe(true);
    await c.clear();
    expect(closed.sort()).toEqual(["/m/a", "/m/b", "/m/c"]);
  });

  it("forgets a directory that failed to open, and rejects a bad capacity", async () => {
    const { c } = cache(1);
    await expect(c.get("/m/bad")).rejects.toThrow(/cannot open/);
    expect(c.has("/m/bad")).toBe(false);
    expect(() => cache(0).c).toThrow(/positive integer/);
  });
});
