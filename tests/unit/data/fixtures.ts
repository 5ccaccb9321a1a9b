import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";

/** A temp dir for data files, removed by `cleanup`. */
export async function tempDir(): Promise<{ dir: string; write: (name: string, text: string | Buffer) => Promise<string>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  return {
    dir,
    write: async (name, text) => {
      const file = path.join(dir, name);
      await writeFile(file, name.endsWith(".gz") ? gzipSync(text) : text);
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

type Msg = Record<string, unknown>;
const msg = (id: string, parent: string | null, role: string, extra: Msg = {}): Msg => ({
  message_id: id,
  parent_id: parent,
  user_id: "u",
  text: `text of ${id}`,
  role,
  lang: "en",
  review_count: 3,
  review_result: true,
  deleted: false,
  rank: null,
  synthetic: false,
  model_name: null,
  message_tree_id: extra.tree ?? "P1",
  tree_state: "ready_for_export",
  ...extra,
});

/**
 * OASST1 message rows:
 * tree P1 (en): P1 → A1 (rank 1) → P7 (unanswered) | A2 (rank 0) → P2 → A3 (unranked), A4 (rank 0); P3 (synthetic)
 *               | A5 (unranked) | A6 (deleted, rank 2)
 * tree P4 (de): P4 → A7; tree P5: P5 → A8 (failed review); orphan A9 (parent not in file) → P6.
 */
export const MESSAGE_ROWS: Msg[] = [
  msg("P1", null, "prompter"),
  msg("A1", "P1", "assistant", { rank: 1 }),
  msg("A2", "P1", "assistant", { rank: 0 }),
  msg("A5", "P1", "assistant"),
  msg("A6", "P1", "assistant", { rank: 2, deleted: true }),
  msg("P7", "A1", "prompter"),
  msg("P2", "A2", "prompter", { rank: 0 }),
  msg("P3", "A2", "prompter", { rank: 1, synthetic: true }),
  msg("A3", "P2", "assistant"),
  msg("A4", "P2", "assistant", { rank: 0 }),
  msg("P4", null, "prompter", { lang: "de", tree: "P4" }),
  msg("A7", "P4", "assistant", { lang: "de", tree: "P4" }),
  msg("P5", null, "prompter", { tree: "P5" }),
  msg("A8", "P5", "assistant", { review_result: false, tree: "P5" }),
  msg("A9", "gone", "assistant", { tree: "X" }),
  msg("P6", "A9", "prompter", { tree: "X" }),
];

/** The same messages as exported trees (`*.trees.jsonl`), nested under `replies`, orphans left out. */
export function messageTrees(): Msg[] {
  const node = (id: string): Msg => {
    const row = MESSAGE_ROWS.find((r) => r.message_id === id)!;
    const { parent_id: _p, message_tree_id: _t, tree_state: _s, ...rest } = row;
    const replies = MESSAGE_ROWS.filter((r) => r.parent_id === id).map((r) => node(r.message_id as string));
    return replies.length > 0 ? { ...rest, replies } : rest;
  };
  return ["P1", "P4", "P5"].map((id) => ({ message_tree_id: id, tree_state: "ready_for_export", prompt: node(id) }));
}
