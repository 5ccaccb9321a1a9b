/** `npm run bench` options, and what each `--only` area needs. */
import { UserError } from "../../src/model/errors.js";
import type { AreaScript } from "./headlines.js";

/** Each area: the scripts that measure it, and whether its ratios need the machine's limits (bench/limits). */
export const AREAS = {
  decode: { scripts: ["generate"], limits: true },
  prefill: { scripts: ["generate"], limits: false },
  concurrency: { scripts: ["generate"], limits: true },
  train: { scripts: ["train"], limits: true },
  memory: { scripts: ["forward", "generate"], limits: false },
  api: { scripts: ["api"], limits: false },
  forward: { scripts: ["forward"], limits: true },
} satisfies Record<string, { scripts: AreaScript[]; limits: boolean }>;
export type Area = keyof typeof AREAS;
const AREA_NAMES = Object.keys(AREAS) as Area[];
const SCRIPT_ORDER: AreaScript[] = ["forward", "train", "generate", "api"];

export interface Options {
  quick: boolean;
  /** The `--only` selection as given; empty means every area. */
  only: Area[];
  rounds: number;
  /** A script run still going after this long is ended and counted as failed. */
  timeoutMinutes: number;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only ${AREA_NAMES.join("|")}[,...]] [--rounds N] [--timeout MINUTES]`;

export function parseOptions(argv: string[]): Options {
  const opts: Options = { quick: false, only: [], rounds: 0, timeoutMinutes: 0, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") opts.quick = true;
    else if (a === "--help" || a === "-h") opts.help = true;
    else if (a === "--only") {
      const names = (argv[++i] ?? "").split(",").filter(Boolean);
      if (names.length === 0) throw new UserError(`--only needs a list of areas (${AREA_NAMES.join(", ")})`);
      for (const name of names) {
        if (!(AREA_NAMES as string[]).includes(name)) throw new UserError(`--only: unknown area "${name}" (expected ${AREA_NAMES.join(", ")})`);
        if (!opts.only.includes(name as Area)) opts.only.push(name as Area);
      }
    } else if (a === "--rounds") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`--rounds must be a positive integer, got "${argv[i] ?? ""}"`);
      opts.rounds = n;
    } else if (a === "--timeout") {
      const n = Number(argv[++i]);
      if (!(n > 0)) throw new UserError(`--timeout must be a positive number of minutes, got "${argv[i] ?? ""}"`);
      opts.timeoutMinutes = n;
    } else throw new UserError(`unknown option "${a}"`);
  }
  // several rounds for a median and a spread; quick mode only proves that the code runs
  opts.rounds ||= opts.quick ? 1 : 3;
  // a phi-2 generate run builds and exports the model: allow hours in full mode
  opts.timeoutMinutes ||= opts.quick ? 15 : 240;
  return opts;
}

export function selectedAreas(opts: Options): Area[] {
  return opts.only.length ? opts.only : AREA_NAMES;
}

/** The area scripts the selection needs, each once, in a fixed order. */
export function scriptsFor(areas: Area[]): AreaScript[] {
  return SCRIPT_ORDER.filter((s) => areas.some((a) => (AREAS[a].scripts as AreaScript[]).includes(s)));
}

export function needsLimits(areas: Area[]): boolean {
  return areas.some((a) => AREAS[a].limits);
}
