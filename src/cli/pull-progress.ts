import cliProgress from "cli-progress";
import type { PullProgress } from "../hub/pull.js";

const units = ["B", "kB", "MB", "GB", "TB"];

/** Bytes as people read download sizes: 1.2 GB, 345 kB. */
export function humanBytes(n: number): string {
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/**
 * Show a pull's progress on stderr: on a terminal, one bar over all the bytes (with the file being fetched, speed and
 * time left) and a line per finished file above it; elsewhere (a log, CI) only the line per file.
 */
export function pullProgress(stream: NodeJS.WriteStream = process.stderr): { onProgress: (e: PullProgress) => void; stop: () => void } {
  let multi: cliProgress.MultiBar | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let started = 0;
  const line = (text: string): void => {
    if (multi) multi.log(`${text}\n`);
    else stream.write(`${text}\n`);
  };
  const onProgress = (e: PullProgress): void => {
    if (e.type === "start") {
      started = performance.now();
      line(`pull: ${e.files.length} files, ${humanBytes(e.totalBytes)} at commit ${e.commit}`);
      if (!stream.isTTY) return;
      multi = new cliProgress.MultiBar(
        {
          stream,
          format: "{bar} {percentage}% | {have}/{size} | {speed}/s | eta {eta_formatted} | {file}",
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar = multi.create(e.totalBytes, 0, { have: humanBytes(0), size: humanBytes(e.totalBytes), speed: humanBytes(0), file: "" });
    } else if (e.type === "bytes") {
      done += e.bytes;
      const seconds = (performance.now() - started) / 1000;
      bar?.update(done, { have: humanBytes(done), speed: humanBytes(seconds > 0 ? done / seconds : 0), file: e.path });
    } else {
      line(`pull: ${e.path} ${humanBytes(e.size)} ${e.fetched ? "downloaded" : "already there"}, checksum verified`);
    }
  };
  const stop = (): void => {
    multi?.update(); // prints the lines logged since the last redraw, which stop() would drop
    multi?.stop();
  };
  return { onProgress, stop };
}
