import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_READ_LIMITS } from "../../../src/data/lines.js";
import { readConversations } from "../../../src/data/read.js";
import { readRows } from "../../../src/data/source.js";
import type { Example, Turn } from "../../../src/data/types.js";
import { UserError } from "../../../src/model/errors.js";
import { oasstParquet } from "../../helpers/oasst-parquet.js";
import { jsonl, MESSAGE_ROWS, messageTrees, tempDir } from "./fixtures.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(() => tmp.cleanup());

/** Each conversation as its message ids ("text of A2" → "A2"). */
const ids = (examples: Example[]): string[] =>
  examples.map((e) => (e.kind === "conversation" ? e.turns.map((t) => t.text.replace("text of ", "")).join(">") : "tokens"));

describe("OASST message rows", () => {
  it("follows the best-ranked path and counts every skip by reason", async () => {
    const file = await tmp.write("msgs.jsonl", jsonl(MESSAGE_ROWS));
    const r = await readConversations(file);
    expect(r.format).toBe("oasst-messages");
    expect(ids(r.examples)).toEqual(["P1>A2>P2>A4", "P4>A7"]);
    expect(r.counts).toEqual({
      rows: 16,
      conversations: 2,
      skipped: { deleted: 1, synthetic: 1, failed_review: 1, no_reply: 1, orphan: 1, below_skipped: 1 },
    });
    const roles = (r.examples[0] as { turns: Turn[] }).turns.map((t) => t.role);
    expect(roles).toEqual(["prompter", "assistant", "prompter", "assistant"]);
  });

  it("extracts every root-to-leaf path, trimming an unanswered last prompt", async () => {
    const file = await tmp.write("msgs-all.jsonl", jsonl(MESSAGE_ROWS));
    const r = await readConversations(file, { paths: "all" });
    expect(ids(r.examples)).toEqual(["P1>A2>P2>A4", "P1>A2>P2>A3", "P1>A1", "P1>A5", "P4>A7"]);
  });

  it("puts unranked replies after ranked ones", async () => {
    const rows = MESSAGE_ROWS.filter((m) => m.message_id !== "A2");
    const file = await tmp.write("msgs-no-a2.jsonl", jsonl(rows));
    const r = await readConversations(file);
    expect(ids(r.examples)[0]).toBe("P1>A1");
  });

  it("filters by language, and the include flags bring filtered messages back", async () => {
    const file = await tmp.write("msgs-lang.jsonl", jsonl(MESSAGE_ROWS));
    const de = await readConversations(file, { languages: ["de"] });
    expect(ids(de.examples)).toEqual(["P4>A7"]);
    expect(de.counts.skipped.language).toBe(2); // the roots P1 and P5; their replies are below_skipped
    expect(de.counts.skipped.below_skipped).toBe(1 + 9 + 1);
    const all = await readConversations(file, { includeDeleted: true, includeSynthetic: true, includeFailedReview: true, paths: "all" });
    // P3 is back: its unanswered path P1>A2>P3 trims to P1>A2, which the longer conversations already hold
    expect(ids(all.examples)).toEqual(["P1>A2>P2>A4", "P1>A2>P2>A3", "P1>A1", "P1>A6", "P1>A5", "P4>A7", "P5>A8"]);
    expect(all.counts.skipped).toEqual({ orphan: 1, below_skipped: 1 });
  });

  it("says which filters left no conversation", async () => {
    const file = await tmp.write("msgs-fr.jsonl", jsonl(MESSAGE_ROWS));
    await expect(readConversations(file, { languages: ["fr"] })).rejects.toThrow(
      /no conversations in .*msgs-fr\.jsonl .*language 3.*filters: languages fr, deleted excluded/,
    );
  });

  it("reads a JSON array and a gzipped file the same way", async () => {
    const lines = await readConversations(await tmp.write("m.jsonl", jsonl(MESSAGE_ROWS)));
    const array = await readConversations(await tmp.write("m.json", JSON.stringify(MESSAGE_ROWS, null, 2)));
    const gz = await readConversations(await tmp.write("m.jsonl.gz", jsonl(MESSAGE_ROWS)));
    expect(array).toEqual({ ...lines, counts: lines.counts });
    expect(gz.examples).toEqual(lines.examples);
  });

  it("names the field and line of a bad row", async () => {
    const rows = [MESSAGE_ROWS[0], { ...MESSAGE_ROWS[1], role: "bot" }];
    const file = await tmp.write("bad-role.jsonl", jsonl(rows));
    await expect(readConversations(file)).rejects.toThrow(/bad-role\.jsonl line 2: field "role" must be "prompter" or "assistant", got "bot"/);
  });
});

describe("exported trees", () => {
  it("gives the same conversations as the message rows", async () => {
    const file = await tmp.write("x.trees.jsonl", jsonl(messageTrees()));
    const r = await readConversations(file);
    expect(r.format).toBe("oasst-trees");
    expect(r.counts.rows).toBe(3);
    expect(ids(r.examples)).toEqual(["P1>A2>P2>A4", "P4>A7"]);
    expect(r.counts.skipped).toEqual({ deleted: 1, synthetic: 1, failed_review: 1, no_reply: 1 });
    const all = await readConversations(file, { paths: "all" });
    expect(ids(all.examples)).toEqual(["P1>A2>P2>A4", "P1>A2>P2>A3", "P1>A1", "P1>A5", "P4>A7"]);
  });
});

describe("Parquet (the format the Hub serves datasets in)", () => {
  it("reads OASST message rows as the .jsonl rows, across row groups, with the same counts", async () => {
    const fromJsonl = await readConversations(await tmp.write("pq-msgs.jsonl", jsonl(MESSAGE_ROWS)), { paths: "all" });
    const file = await tmp.write("msgs.parquet", oasstParquet(MESSAGE_ROWS, { rowGroupSize: 5 }));
    const fromParquet = await readConversations(file, { paths: "all" });
    expect(fromParquet.format).toBe("oasst-messages");
    expect(fromParquet.examples).toEqual(fromJsonl.examples);
    expect(fromParquet.counts).toEqual(fromJsonl.counts);
    expect(ids(fromParquet.examples)).toEqual(["P1>A2>P2>A4", "P1>A2>P2>A3", "P1>A1", "P1>A5", "P4>A7"]);
  });

  it("names the file and the missing column", async () => {
    const file = await tmp.write("no-parent.parquet", oasstParquet(MESSAGE_ROWS, { drop: ["parent_id"] }));
    await expect(readConversations(file)).rejects.toThrow(`${file}: column "parent_id" is missing; OASST message rows need message_id, parent_id, role, text`);
    const noText = await tmp.write("no-text.parquet", oasstParquet(MESSAGE_ROWS, { drop: ["text"] }));
    await expect(readConversations(noText)).rejects.toThrow(`${noText}: column "text" is missing`);
    const unknown = await tmp.write("unknown.parquet", oasstParquet(MESSAGE_ROWS, { drop: ["message_id", "parent_id", "role", "message_tree_id", "text"] }));
    await expect(readConversations(unknown)).rejects.toThrow(`${unknown}: no known columns (it has user_id, created_date`);
  });

  it("names the file and row of a bad value, and rejects a file that is not Parquet", async () => {
    const rows = MESSAGE_ROWS.map((r, i) => (i === 3 ? { ...r, role: "moderator" } : r));
    const file = await tmp.write("bad-role.parquet", oasstParquet(rows));
    await expect(readConversations(file)).rejects.toThrow(`${file} row 4: field "role" must be "prompter" or "assistant"`);
    const fake = await tmp.write("fake.parquet", jsonl(MESSAGE_ROWS));
    await expect(readConversations(fake)).rejects.toThrow(`${fake} is not a valid Parquet file`);
  });
});

describe("guanaco text rows", () => {
  it("splits turns on the markers and skips rows it cannot use", async () => {
    const rows = [
      { text: "### Human: Hi there?### Assistant: Hello! How can I help?" },
      { text: "### Human: a### Assistant: b### Human: c### Assistant: d### Human: unanswered" },
      { text: "plain text without markers" },
      { text: "### Assistant: no question" },
      { text: "### Human: only a question" },
    ];
    const r = await readConversations(await tmp.write("g.jsonl", jsonl(rows)));
    expect(r.format).toBe("guanaco");
    expect(r.examples).toEqual([
      { kind: "conversation", turns: [{ role: "prompter", text: "Hi there?" }, { role: "assistant", text: "Hello! How can I help?" }] },
      {
        kind: "conversation",
        turns: [
          { role: "prompter", text: "a" },
          { role: "assistant", text: "b" },
          { role: "prompter", text: "c" },
          { role: "assistant", text: "d" },
        ],
      },
    ]);
    expect(r.counts).toEqual({ rows: 5, conversations: 2, skipped: { no_markers: 1, root_not_prompter: 1, no_reply: 1 } });
  });
});

describe("chat rows (OpenAI fine-tuning / TRL conversational)", () => {
  const chat = (...messages: [string, string][]) => ({ messages: messages.map(([role, content]) => ({ role, content })) });

  it("keeps system text beside the turns and skips rows it cannot use, by reason", async () => {
    const rows = [
      chat(["system", "Be brief."], ["user", " Hi? "], ["assistant", "Hello."]),
      chat(["user", "a"], ["assistant", "b"], ["user", "c"], ["assistant", "d"], ["user", "unanswered"]),
      chat(["user", "call a tool"], ["tool", "{}"]),
      chat(["assistant", "no question"]),
      chat(["user", "a"], ["user", "b"], ["assistant", "c"]),
      chat(["user", "only a question"]),
      chat(["user", "  "], ["assistant", "b"]),
    ];
    const r = await readConversations(await tmp.write("chat.jsonl", jsonl(rows)));
    expect(r.format).toBe("chat-messages");
    expect(r.examples).toEqual([
      { kind: "conversation", system: "Be brief.", turns: [{ role: "prompter", text: "Hi?" }, { role: "assistant", text: "Hello." }] },
      {
        kind: "conversation",
        turns: [
          { role: "prompter", text: "a" },
          { role: "assistant", text: "b" },
          { role: "prompter", text: "c" },
          { role: "assistant", text: "d" },
        ],
      },
    ]);
    expect(r.counts).toEqual({ rows: 7, conversations: 2, skipped: { unsupported_role: 1, root_not_prompter: 1, not_alternating: 1, no_reply: 1, empty_text: 1 } });
  });

  it("names the line and message of a malformed row", async () => {
    const file = await tmp.write("chat-bad.jsonl", jsonl([chat(["user", "a"], ["assistant", "b"]), { messages: [{ role: "user", content: ["parts"] }] }]));
    await expect(readConversations(file)).rejects.toThrow(/chat-bad\.jsonl line 2: messages\[0\] must be \{"role"/);
    const other = await tmp.write("chat-mixed.jsonl", jsonl([chat(["user", "a"], ["assistant", "b"]), { text: "### Human: a### Assistant: b" }]));
    await expect(readConversations(other)).rejects.toThrow(/chat-mixed\.jsonl line 2: expected \{"messages"/);
  });
});

describe("tokenized rows", () => {
  it("uses them as they are; labels default to the ids", async () => {
    const rows = [{ input_ids: [1, 2, 3], labels: [-100, 2, 3], attention_mask: [1, 1, 1] }, { input_ids: [4, 5] }, { input_ids: [] }];
    const r = await readConversations(await tmp.write("t.jsonl", jsonl(rows)));
    expect(r.format).toBe("tokenized");
    expect(r.examples).toEqual([
      { kind: "tokens", inputIds: [1, 2, 3], labels: [-100, 2, 3], attentionMask: [1, 1, 1] },
      { kind: "tokens", inputIds: [4, 5], labels: [4, 5] },
    ]);
    expect(r.counts.skipped).toEqual({ empty: 1 });
  });

  it("rejects labels that do not match the ids, naming the line", async () => {
    const file = await tmp.write("t-bad.jsonl", jsonl([{ input_ids: [1, 2] }, { input_ids: [1, 2], labels: [1] }]));
    await expect(readConversations(file)).rejects.toThrow(/t-bad\.jsonl line 2: "labels" has 1 entries but "input_ids" has 2/);
  });
});

describe("bad files", () => {
  it("names the line of malformed JSON (blank lines counted)", async () => {
    const file = await tmp.write("broken.jsonl", `${JSON.stringify(MESSAGE_ROWS[0])}\n\n{"message_id": "x", oops}\n`);
    const err = await readConversations(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/broken\.jsonl line 3: malformed JSON/);
  });

  it("names the line of malformed JSON inside an array", async () => {
    const file = await tmp.write("broken.json", `[\n  {"text": "### Human: a### Assistant: b"},\n  {"text": oops}\n]`);
    await expect(readConversations(file)).rejects.toThrow(/broken\.json line 3: malformed JSON/);
  });

  it("rejects an empty file, a blank one and a missing one", async () => {
    await expect(readConversations(await tmp.write("empty.jsonl", ""))).rejects.toThrow(/empty\.jsonl is empty/);
    await expect(readConversations(await tmp.write("blank.jsonl", "\n  \n"))).rejects.toThrow(/blank\.jsonl is empty/);
    await expect(readConversations(await tmp.write("empty.json", "[]"))).rejects.toThrow(/empty\.json is empty/);
    await expect(readConversations(path.join(tmp.dir, "nope.jsonl"))).rejects.toThrow(/nope\.jsonl does not exist/);
  });

  it("rejects a .gz file that is not gzip", async () => {
    const file = path.join(tmp.dir, "fake.jsonl.gz");
    await writeFile(file, jsonl(MESSAGE_ROWS));
    await expect(readConversations(file)).rejects.toThrow(/fake\.jsonl\.gz is not valid gzip data/);
  });

  it("rejects a file of unknown rows", async () => {
    await expect(readConversations(await tmp.write("odd.jsonl", jsonl([{ foo: 1 }])))).rejects.toThrow(/odd\.jsonl line 1: unknown data format/);
  });

  it("rejects bad options", async () => {
    const file = await tmp.write("opt.jsonl", jsonl(MESSAGE_ROWS));
    await expect(readConversations(file, { paths: "some" as "all" })).rejects.toThrow(/paths must be one of best, all, got "some"/);
  });
});

describe("size limits (a crash before: RangeError: Invalid string length past ~512 MB in one line)", () => {
  const small = { ...DEFAULT_READ_LIMITS, maxLineBytes: 1000, maxArrayBytes: 2000, maxDecompressedBytes: 5000 };
  const drain = async (file: string, limits = small): Promise<number> => {
    let n = 0;
    for await (const _ of readRows(file, limits)) n++;
    return n;
  };

  it("names the file and line of a line over the limit, before holding it whole", async () => {
    const row = JSON.stringify(MESSAGE_ROWS[0]);
    const file = await tmp.write("long.jsonl", `${row}\n\n{"text": "${"x".repeat(1200)}"}\n${row}\n`);
    await expect(drain(file)).rejects.toThrow(/long\.jsonl line 3: the line is longer than 1000 bytes, the limit for one row/);
    // the default limit is 64 MiB a row; the same file is fine under it, CRLF and a last line without newline too
    expect(await drain(await tmp.write("crlf.jsonl", `${row}\r\n${row}`), DEFAULT_READ_LIMITS)).toBe(2);
    expect(DEFAULT_READ_LIMITS.maxLineBytes).toBe(64 * 2 ** 20);
  });

  it("bounds a gzip file's decompressed size and a JSON array file's size", async () => {
    const rows = Array.from({ length: 200 }, () => JSON.stringify(MESSAGE_ROWS[0])).join("\n");
    await expect(drain(await tmp.write("big.jsonl.gz", rows))).rejects.toThrow(/big\.jsonl\.gz: decompresses to more than 5000 bytes/);
    const array = `[\n${Array.from({ length: 50 }, () => JSON.stringify(MESSAGE_ROWS[0])).join(",\n")}\n]`;
    await expect(drain(await tmp.write("big.json", array))).rejects.toThrow(/big\.json line \d+: a JSON array file is read whole/);
  });

  it("reads a multi-byte character split across stream chunks intact", async () => {
    const text = "é".repeat(40_000); // 80,000 bytes: the 64 KiB chunk boundary falls inside one character
    const file = await tmp.write("wide.jsonl", `${JSON.stringify({ text: `### Human: ${text}### Assistant: ok` })}\n`);
    for await (const row of readRows(file)) expect((row.value as { text: string }).text).toContain(text);
  });
});

const repoRoot = path.resolve(import.meta.dirname, "../../..");
const sample = path.resolve(repoRoot, "../shared/data/oasst1/en-validation.jsonl");

describe.skipIf(!existsSync(sample))("the real OASST1 sample (en-validation.jsonl)", () => {
  it("reads plausible conversations along the best paths and every path", async () => {
    const best = await readConversations(sample);
    expect(best.format).toBe("oasst-messages");
    expect(best.counts.rows).toBe(2022);
    expect(best.counts.conversations).toBeGreaterThan(100);
    expect(best.counts.conversations).toBeLessThanOrEqual(188); // one per tree at most
    expect(best.counts.skipped.deleted).toBeGreaterThan(0);
    expect(best.counts.skipped.failed_review).toBeGreaterThan(0);
    expect(best.counts.skipped.orphan).toBe(3);
    const all = await readConversations(sample, { paths: "all" });
    expect(all.counts.conversations).toBeGreaterThan(best.counts.conversations * 2);
    for (const r of [best, all]) {
      for (const e of r.examples) {
        if (e.kind !== "conversation") throw new Error("expected conversations");
        expect(e.turns[0].role).toBe("prompter");
        expect(e.turns.at(-1)!.role).toBe("assistant");
        e.turns.forEach((t, i) => expect(t.role).toBe(i % 2 === 0 ? "prompter" : "assistant"));
        expect(e.turns.every((t) => t.text.trim() !== "")).toBe(true);
      }
    }
  });

  it("written as chat rows (OpenAI's fine-tuning format), reads back as the same conversations", async () => {
    const best = await readConversations(sample);
    const role = { prompter: "user", assistant: "assistant" } as const;
    const rows = best.examples.map((e) => ({ messages: e.kind === "conversation" ? e.turns.map((t) => ({ role: role[t.role], content: t.text })) : [] }));
    const chat = await readConversations(await tmp.write("oasst-chat.jsonl", jsonl(rows)));
    expect(chat.format).toBe("chat-messages");
    expect(chat.counts).toEqual({ rows: best.examples.length, conversations: best.examples.length, skipped: {} });
    expect(chat.examples).toEqual(best.examples);
  });

  it("as Parquet (as the Hub serves OASST1) yields the same conversations and counts as the .jsonl", async () => {
    const rows = (await readFile(sample, "utf8")).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
    const file = await tmp.write("en-validation.parquet", oasstParquet(rows, { rowGroupSize: 500 }));
    for (const paths of ["best", "all"] as const) {
      const [fromJsonl, fromParquet] = await Promise.all([readConversations(sample, { paths }), readConversations(file, { paths })]);
      expect(fromParquet.counts).toEqual(fromJsonl.counts);
      expect(fromParquet.examples).toEqual(fromJsonl.examples);
    }
  });
});
