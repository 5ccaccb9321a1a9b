import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { noBackends, startTestApi } from "./harness.js";
import { createTestDatabase, type TestDatabase } from "./test-db.js";

describe("demo seeding", () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it("writes the demo files again when the database was seeded from a data directory that is gone", async () => {
    db = await createTestDatabase();
    const query = "{ models { id name path } datasets { id name path conversationCount } }";
    type Listing = { models: { id: string; name: string; path: string }[]; datasets: { id: string; name: string; path: string; conversationCount: number }[] };
    const first = await startTestApi({ backends: noBackends, demo: true, db });
    const before = (await first.gql<Listing>(query)).data!;
    const firstWeights = await readDemoWeight(before.models[0]!.path);
    await first.close(); // removes its data directory; the database stays

    const second = await startTestApi({ backends: noBackends, demo: true, db });
    try {
      const after = (await second.gql<Listing>(query)).data!;
      // the same rows, now pointing into the new data directory, with the same weights and conversations
      expect(after.models.map((m) => [m.id, m.name])).toEqual(before.models.map((m) => [m.id, m.name]));
      expect(after.models[0]!.path).toBe(path.join(second.dataDir, "models", "demo-tiny"));
      expect(await readDemoWeight(after.models[0]!.path)).toEqual(firstWeights);
      expect(after.datasets).toEqual([{ ...before.datasets[0]!, path: path.join(second.dataDir, "demo", "oasst-demo.jsonl") }]);
      expect(existsSync(after.datasets[0]!.path)).toBe(true);
    } finally {
      await second.close();
    }
  });
});

async function readDemoWeight(dir: string): Promise<number[]> {
  const ckpt = await Checkpoint.open(dir);
  try {
    return [...(await ckpt.read("model.layers.0.self_attn.q_proj.weight")).subarray(0, 8)];
  } finally {
    await ckpt.close();
  }
}
