import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { humanBytes, pullProgress } from "../../../src/cli/pull-progress.js";

/** A stream that says it is (or is not) a terminal, keeping what was written. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write: (c, _e, done) => (chunks.push(String(c)), done()) }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(w, { isTTY, columns: 120, text: () => chunks.join("") });
  return w;
}

function feed(onProgress: ReturnType<typeof pullProgress>["onProgress"]): void {
  onProgress({ type: "start", commit: "c".repeat(40), files: [{ path: "config.json", size: 700 }, { path: "model.safetensors", size: 5_000_000 }], totalBytes: 5_000_700 });
  onProgress({ type: "bytes", path: "config.json", bytes: 700 });
  onProgress({ type: "file", path: "config.json", size: 700, fetched: true });
  onProgress({ type: "bytes", path: "model.safetensors", bytes: 2_500_000 });
}

describe("pull progress on the CLI", () => {
  it("not a terminal: one line per file, no bar or escape codes", () => {
    const out = stream(false);
    const p = pullProgress(out);
    feed(p.onProgress);
    p.stop();
    expect(out.text()).toBe(`pull: 2 files, 5.0 MB at commit ${"c".repeat(40)}\npull: config.json 700 B downloaded, checksum verified\n`);
  });

  it("a terminal: a bar over all the bytes, with the file being fetched", () => {
    const out = stream(true);
    const p = pullProgress(out);
    feed(p.onProgress);
    p.stop();
    const text = out.text();
    expect(text).toContain("pull: config.json 700 B downloaded, checksum verified");
    expect(text).toMatch(/50% \| 2\.5 MB\/5\.0 MB \| [\d.]+ [kMG]?B\/s \| eta \S+ \| model\.safetensors/);
  });

  it("sizes read as download sizes", () => {
    expect([humanBytes(0), humanBytes(999), humanBytes(1234), humanBytes(5_560_000_000)]).toEqual(["0 B", "999 B", "1.2 kB", "5.6 GB"]);
  });
});
