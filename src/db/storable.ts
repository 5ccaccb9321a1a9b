/**
 * PostgreSQL's text and jsonb cannot hold U+0000 (it refuses the whole statement: 22021 / 22P05), and a NUL can come
 * from anywhere we store text: an error message quoting a file, a prompt, a generated token, a config value. Every
 * NUL becomes U+FFFD, the replacement character, as a decoder does for what it cannot represent.
 */
export function storableText(s: string): string {
  return s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s;
}

/** `storableText` over every string (and key) in plain objects and arrays; anything else is kept as it is. */
export function storable<T>(value: T): T {
  if (typeof value === "string") return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value === null || typeof value !== "object") return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  // Dates, Buffers, Decimals and Prisma's null sentinels are not plain objects
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storableText(k)] = storable(v);
  return out as T;
}
