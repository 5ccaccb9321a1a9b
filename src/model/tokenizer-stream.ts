/** Incremental detokenizer: push(id) returns the newly completed text, never half a UTF-8 character. */
export interface TokenStreamDecoder {
  push(id: number): string;
  /** Ends the stream: bytes of an unfinished character come out as U+FFFD. */
  flush(): string;
}

/** What one id decodes to: raw bytes (byte-level vocabulary), literal text (added token), or nothing. */
export type TokenPiece = Uint8Array | { text: string; special: boolean } | undefined;

/** GPT-2's bytes_to_unicode, inverted: the printable character that stands for each byte → that byte. */
function unicodeToBytes(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    map.set(String.fromCharCode(printable(b) ? b : 256 + shifted++), b);
  }
  return map;
}

/**
 * The bytes a byte-level BPE token stands for. Like HF's ByteLevel decoder, a token with a character outside the
 * byte alphabet stands for its own UTF-8 bytes.
 */
export function byteLevelTokenBytes(): (token: string) => Uint8Array {
  const table = unicodeToBytes();
  const encoder = new TextEncoder();
  return (token) => {
    const chars = [...token];
    const bytes = chars.map((c) => table.get(c));
    return bytes.every((b) => b !== undefined) ? Uint8Array.from(bytes as number[]) : encoder.encode(token);
  };
}

/**
 * Streams ids through one UTF-8 decoder in streaming mode, so incomplete characters are held back until their last
 * byte arrives. An added token is literal text: like the full decode, it ends the byte run before it.
 */
export function createStreamDecoder(piece: (id: number) => TokenPiece, skipSpecial: boolean): TokenStreamDecoder {
  // ignoreBOM keeps a leading U+FEFF, as the full decode does
  const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  return {
    push(id) {
      const p = piece(id);
      if (p === undefined) return "";
      if (p instanceof Uint8Array) return utf8.decode(p, { stream: true });
      if (p.special && skipSpecial) return "";
      return utf8.decode() + p.text;
    },
    flush() {
      return utf8.decode();
    },
  };
}
