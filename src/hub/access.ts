import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../model/errors.js";

/** Where the Hub is, who we are there, and how long a download may go without a byte. */
export interface HubAccess {
  /** `https://huggingface.co` unless HF_ENDPOINT says otherwise (a mirror, a private Hub, a test server) */
  endpoint: string;
  token?: string;
  /** HF_HUB_DOWNLOAD_TIMEOUT (seconds, default 10): a connection silent this long is dropped and resumed */
  downloadTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

/**
 * Read the Hub's address and token from the environment the way `huggingface_hub` does: `HF_ENDPOINT` (trailing
 * slashes dropped); the token from `HF_TOKEN`, else the file `HF_TOKEN_PATH`, else `$HF_HOME/token` (HF_HOME defaults
 * to `$XDG_CACHE_HOME/huggingface`, then `~/.cache/huggingface`), which `huggingface-cli login` writes; and
 * `HF_HUB_DOWNLOAD_TIMEOUT`.
 */
export function hubAccess(env: Env = process.env): HubAccess {
  const endpoint = (env.HF_ENDPOINT?.trim() || "https://huggingface.co").replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UserError(`HF_ENDPOINT must be a URL, got "${env.HF_ENDPOINT}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UserError(`HF_ENDPOINT must be an http(s) URL, got "${env.HF_ENDPOINT}"`);
  const token = env.HF_TOKEN?.trim() || tokenFile(env);
  // @huggingface/hub refuses other tokens with a TypeError; say which variable holds it
  if (token && !token.startsWith("hf_")) throw new UserError(`HF_TOKEN (or the token file) must hold a Hugging Face token starting with "hf_"`);
  const timeout = Number(env.HF_HUB_DOWNLOAD_TIMEOUT ?? 10);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UserError(`HF_HUB_DOWNLOAD_TIMEOUT must be a number of seconds > 0, got "${env.HF_HUB_DOWNLOAD_TIMEOUT}"`);
  return { endpoint, ...(token ? { token } : {}), downloadTimeoutMs: timeout * 1000 };
}

function tokenFile(env: Env): string | undefined {
  const home = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "huggingface");
  const file = env.HF_TOKEN_PATH || path.join(home, "token");
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
