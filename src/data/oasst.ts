import { UserError } from "../model/errors.js";
import { skip, type DataOptions, type Role, type Turn } from "./types.js";

/** One OpenAssistant message, as a row of `OpenAssistant/oasst1` or a node of an exported tree. */
export interface OasstNode {
  id: string;
  parentId: string | null;
  role: Role;
  text: string;
  lang: string | null;
  rank: number | null;
  deleted: boolean;
  synthetic: boolean;
  reviewResult: boolean | null;
  /** Position in the file, to break ties between unranked siblings. */
  order: number;
  children: OasstNode[];
}

type Obj = Record<string, unknown>;

function field<T>(row: Obj, name: string, where: string, check: (v: unknown) => v is T, expected: string, fallback?: T): T {
  const v = row[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (!check(v)) throw new UserError(`${where}: field "${name}" must be ${expected}, got ${JSON.stringify(v) ?? "nothing"}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isBoolOrNull = (v: unknown): v is boolean | null => v === null || typeof v === "boolean";
const isRankOrNull = (v: unknown): v is number | null => v === null || (Number.isInteger(v) && (v as number) >= 0);
const isRole = (v: unknown): v is Role => v === "prompter" || v === "assistant";

/** Validate one message object (HF oasst1 field names; missing optional fields take the export's defaults). */
export function parseMessage(row: Obj, where: string, order: number, parentId: string | null | undefined): OasstNode {
  return {
    id: field(row, "message_id", where, isString, "a string"),
    parentId: parentId !== undefined ? parentId : field(row, "parent_id", where, isStringOrNull, "a string or null", null),
    role: field(row, "role", where, isRole, `"prompter" or "assistant"`),
    text: field(row, "text", where, isString, "a string"),
    lang: field(row, "lang", where, isStringOrNull, "a string or null", null),
    rank: field(row, "rank", where, isRankOrNull, "a non-negative integer or null", null),
    deleted: field(row, "deleted", where, isBool, "true or false", false),
    synthetic: field(row, "synthetic", where, isBool, "true or false", false),
    reviewResult: field(row, "review_result", where, isBoolOrNull, "true, false or null", null),
    order,
    children: [],
  };
}

/** Why the options leave this message out, or null to keep it. */
function filterReason(node: OasstNode, opts: DataOptions): string | null {
  if (node.deleted && !opts.includeDeleted) return "deleted";
  if (node.synthetic && !opts.includeSynthetic) return "synthetic";
  if (node.reviewResult === false && !opts.includeFailedReview) return "failed_review";
  if (opts.languages.length > 0 && !opts.languages.includes(node.lang ?? "")) return "language";
  if (node.text.trim() === "") return "empty_text";
  return null;
}

export function countSubtree(node: OasstNode): number {
  let n = 1;
  for (const c of node.children) n += countSubtree(c);
  return n;
}

/** Drop the messages the options exclude (counting each under its reason) and everything below them. */
function prune(node: OasstNode, opts: DataOptions, skipped: Record<string, number>): OasstNode | null {
  const reason = filterReason(node, opts);
  if (reason) {
    skip(skipped, reason);
    const below = countSubtree(node) - 1;
    if (below > 0) skip(skipped, "below_skipped", below);
    return null;
  }
  const children: OasstNode[] = [];
  for (const c of node.children) {
    const kept = prune(c, opts, skipped);
    if (kept) children.push(kept);
  }
  return { ...node, children };
}

/** Best first: lowest rank, then unranked ones in file order. */
function byRank(a: OasstNode, b: OasstNode): number {
  if (a.rank !== b.rank) {
    if (a.rank === null) return 1;
    if (b.rank === null) return -1;
    return a.rank - b.rank;
  }
  return a.order - b.order;
}

function bestPath(root: OasstNode): OasstNode[] {
  const path = [root];
  let node = root;
  while (node.children.length > 0) {
    node = [...node.children].sort(byRank)[0];
    path.push(node);
  }
  return path;
}

function allPaths(node: OasstNode, prefix: OasstNode[], out: OasstNode[][]): void {
  const path = [...prefix, node];
  if (node.children.length === 0) out.push(path);
  for (const c of [...node.children].sort(byRank)) allPaths(c, path, out);
}

/** A conversation ends with an assistant turn: drop unanswered prompts at the end; null if no reply is left. */
function trimToReply(path: OasstNode[]): OasstNode[] | null {
  let end = path.length;
  while (end > 0 && path[end - 1].role === "prompter") end--;
  return end > 0 ? path.slice(0, end) : null;
}

/**
 * The conversations of one message tree: along the best-ranked path (`paths: "best"`) or every root-to-leaf path
 * (`"all"`), after the filters; each starts with a prompter turn and ends with an assistant turn.
 */
export function treeConversations(root: OasstNode, opts: DataOptions, skipped: Record<string, number>): Turn[][] {
  if (root.role !== "prompter") {
    skip(skipped, "root_not_prompter", countSubtree(root));
    return [];
  }
  const kept = prune(root, opts, skipped);
  if (!kept) return [];
  const candidates: OasstNode[][] = [];
  if (opts.paths === "all") allPaths(kept, [], candidates);
  else candidates.push(bestPath(kept));
  const convs = candidates.map(trimToReply).filter((c): c is OasstNode[] => c !== null);
  // a path trimmed of its unanswered last prompt is dropped when a longer conversation already contains it
  const inner = new Set(convs.flatMap((c) => c.slice(0, -1).map((n) => n.id)));
  const seen = new Set<string>();
  const out: Turn[][] = [];
  for (const conv of convs) {
    const last = conv[conv.length - 1].id;
    if (inner.has(last) || seen.has(last)) continue;
    seen.add(last);
    out.push(conv.map((n) => ({ role: n.role, text: n.text })));
  }
  if (out.length === 0) skip(skipped, "no_reply");
  return out;
}
