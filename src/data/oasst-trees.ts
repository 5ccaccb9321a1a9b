import { UserError } from "../model/errors.js";
import { parseMessage, treeConversations, type OasstNode } from "./oasst.js";
import type { Row } from "./source.js";
import type { DataOptions, Example } from "./types.js";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Turn an exported message node and its nested `replies` into an `OasstNode` tree. */
function toNode(msg: unknown, where: string, parentId: string | null, order: { n: number }): OasstNode {
  if (!isObj(msg)) throw new UserError(`${where}: a message of the tree is not an object`);
  const node = parseMessage(msg, where, order.n++, parentId);
  const replies = msg.replies ?? [];
  if (!Array.isArray(replies)) throw new UserError(`${where}: field "replies" of message ${node.id} must be an array`);
  node.children = replies.map((r) => toNode(r, where, node.id, order));
  return node;
}

/** Exported trees (`*.trees.jsonl`): one `{message_tree_id, tree_state, prompt: {..., replies: [...]}}` a row. */
export async function readTreeRows(
  rows: AsyncIterable<Row>,
  opts: DataOptions,
  skipped: Record<string, number>,
): Promise<{ examples: Example[]; rows: number }> {
  const examples: Example[] = [];
  let count = 0;
  const order = { n: 0 };
  for await (const row of rows) {
    count++;
    if (!isObj(row.value) || !isObj(row.value.prompt)) {
      throw new UserError(`${row.where}: expected an exported message tree with a "prompt" object`);
    }
    const root = toNode(row.value.prompt, row.where, null, order);
    for (const turns of treeConversations(root, opts, skipped)) examples.push({ kind: "conversation", turns });
  }
  return { examples, rows: count };
}
