import { UserError } from "../model/errors.js";
import { countSubtree, parseMessage, treeConversations, type OasstNode } from "./oasst.js";
import type { Row } from "./source.js";
import { skip, type DataOptions, type Example } from "./types.js";

/**
 * Message rows (HF `OpenAssistant/oasst1`): rebuild the trees from `parent_id`, then extract conversations.
 * A row whose parent is not in the file is an orphan: it and its replies are skipped and counted.
 */
export async function readMessageRows(
  rows: AsyncIterable<Row>,
  opts: DataOptions,
  skipped: Record<string, number>,
): Promise<{ examples: Example[]; rows: number }> {
  const byId = new Map<string, OasstNode>();
  let count = 0;
  for await (const row of rows) {
    count++;
    if (typeof row.value !== "object" || row.value === null || Array.isArray(row.value)) {
      throw new UserError(`${row.where}: expected an OASST message object`);
    }
    const node = parseMessage(row.value as Record<string, unknown>, row.where, count, undefined);
    if (byId.has(node.id)) skip(skipped, "duplicate_id");
    else byId.set(node.id, node);
  }
  const roots: OasstNode[] = [];
  const orphans: OasstNode[] = [];
  for (const node of byId.values()) {
    if (node.parentId === null) roots.push(node);
    else {
      const parent = byId.get(node.parentId);
      if (parent) parent.children.push(node);
      else orphans.push(node);
    }
  }
  for (const o of orphans) {
    skip(skipped, "orphan");
    const below = countSubtree(o) - 1;
    if (below > 0) skip(skipped, "below_skipped", below);
  }
  const examples: Example[] = [];
  for (const root of roots) {
    for (const turns of treeConversations(root, opts, skipped)) examples.push({ kind: "conversation", turns });
  }
  return { examples, rows: count };
}
