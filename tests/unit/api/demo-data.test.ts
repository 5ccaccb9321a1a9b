import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readConversations } from "../../../src/data/read.js";
import { demoConversationCount, demoMessageRows } from "../../../src/services/demo-data.js";

describe("the demo dataset", () => {
  it("is OASST message rows that the reader turns into every conversation, none skipped", async () => {
    const rows = demoMessageRows();
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(rows.length);
    expect(demoMessageRows()).toEqual(rows); // the same file on every machine
    const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    try {
      const file = path.join(dir, "demo.jsonl");
      await writeFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
      const read = await readConversations(file);
      expect(read.format).toBe("oasst-messages");
      expect(read.counts).toEqual({ rows: rows.length, conversations: demoConversationCount(), skipped: {} });
      expect(demoConversationCount()).toBeGreaterThanOrEqual(30);
      const multiTurn = read.examples.filter((e) => e.kind === "conversation" && e.turns.length === 4);
      expect(multiTurn.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
