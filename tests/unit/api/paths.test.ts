import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveInsideRoots } from "../../../src/services/paths.js";

describe("paths a client sends", () => {
  let base: string;
  let rootA: string;
  let rootB: string;
  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    rootA = path.join(base, "a");
    rootB = path.join(base, "b");
    await mkdir(path.join(rootA, "models", "m"), { recursive: true });
    await mkdir(rootB);
    await mkdir(path.join(base, "outside"));
    await writeFile(path.join(rootB, "data.jsonl"), "{}\n");
    await symlink(path.join(base, "outside"), path.join(rootA, "escape"));
    await symlink(path.join(rootB, "data.jsonl"), path.join(rootA, "to-b"));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });
  const roots = () => [rootA, rootB];

  it("resolve relative to the first root, or absolute inside any root", async () => {
    expect(await resolveInsideRoots("models/m", roots(), "path")).toBe(path.join(rootA, "models", "m"));
    expect(await resolveInsideRoots(path.join(rootB, "data.jsonl"), roots(), "path")).toBe(path.join(rootB, "data.jsonl"));
    expect(await resolveInsideRoots("to-b", roots(), "path")).toBe(path.join(rootB, "data.jsonl"));
  });

  it("refuse .., absolute paths elsewhere and symlinks out, naming the field", async () => {
    await expect(resolveInsideRoots("../outside", roots(), "path")).rejects.toThrow(/^path: \.\.\/outside is outside the allowed roots/);
    await expect(resolveInsideRoots("models/../../outside", roots(), "path")).rejects.toThrow(/outside the allowed roots/);
    await expect(resolveInsideRoots(path.join(base, "outside"), roots(), "path")).rejects.toThrow(/outside the allowed roots/);
    await expect(resolveInsideRoots("escape", roots(), "modelPath")).rejects.toThrow(/^modelPath: escape is outside/);
  });

  it("report a missing path as NOT_FOUND and an empty one as a mistake", async () => {
    await expect(resolveInsideRoots("nope", roots(), "path")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(resolveInsideRoots(" ", roots(), "path")).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
  });
});
