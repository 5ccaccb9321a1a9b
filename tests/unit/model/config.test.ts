import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { headDim, parameterCount, presetConfig, readConfig, rotaryDim } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";

describe("presets", () => {
  it("have the published parameter counts", () => {
    expect(parameterCount(presetConfig("phi-2"))).toBe(2_779_683_840);
    expect(parameterCount(presetConfig("phi-1"))).toBe(1_418_270_720);
    expect(parameterCount(presetConfig("phi-1_5"))).toBe(1_418_270_720);
  });

  it("derive head and rotary dims as HF does", () => {
    const phi2 = presetConfig("phi-2");
    expect([headDim(phi2), rotaryDim(phi2)]).toEqual([80, 32]);
    const phi1 = presetConfig("phi-1");
    expect([headDim(phi1), rotaryDim(phi1)]).toEqual([64, 32]);
  });

  it("take overrides and reject unknown presets", () => {
    expect(presetConfig("tiny", { num_hidden_layers: 3 }).num_hidden_layers).toBe(3);
    expect(() => presetConfig("phi-3")).toThrow(/unknown preset "phi-3"/);
  });
});

describe("config validation names the field", () => {
  const bad = (overrides: Record<string, unknown>) => {
    try {
      presetConfig("tiny", overrides);
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      return (e as Error).message;
    }
    throw new Error("expected a UserError");
  };

  it("qk_layernorm", () => expect(bad({ qk_layernorm: true })).toMatch(/qk_layernorm: true is not implemented/));
  it("hidden not divisible by heads", () => expect(bad({ num_attention_heads: 5 })).toMatch(/hidden_size \(64\) must be divisible by num_attention_heads \(5\)/));
  it("odd rotary dims", () => expect(bad({ hidden_size: 60, partial_rotary_factor: 0.5 })).toMatch(/partial_rotary_factor 0.5 gives 7 rotary dims of head_dim 15/));
  it("non-integer sizes", () => expect(bad({ num_hidden_layers: 1.5 })).toMatch(/num_hidden_layers must be an integer from 1 to 1024, got 1.5/));
  it("grouped-query attention", () => expect(bad({ num_key_value_heads: 2 })).toMatch(/num_key_value_heads \(2\) must equal num_attention_heads \(4\)/));
  it("sizes past what one allocation holds", () => {
    expect(bad({ hidden_size: 2147483648 })).toMatch(/hidden_size must be an integer from 1 to 65536, got 2147483648/);
    expect(bad({ max_position_embeddings: 1e15 })).toMatch(/max_position_embeddings must be an integer from 1 to 1048576, got 1000000000000000/);
    expect(bad({ vocab_size: 1 << 20, hidden_size: 4096, num_attention_heads: 32 })).toMatch(/largest weight .* 4294967296 values, above the limit of 2147483648/);
  });
  it("floats that are not finite or out of range", () => {
    expect(bad({ layer_norm_eps: JSON.parse("1e400") })).toMatch(/layer_norm_eps must be a finite number in \(0, 1\], got Infinity/);
    expect(bad({ rope_theta: "10000" })).toMatch(/rope_theta must be a finite number in \(0, 1000000000000\], got "10000"/);
    expect(bad({ resid_pdrop: -0.1 })).toMatch(/resid_pdrop must be a finite number in \[0, 1\], got -0.1/);
  });
  it("booleans and architectures", () => {
    expect(bad({ tie_word_embeddings: "yes" })).toMatch(/tie_word_embeddings must be true or false, got "yes"/);
    expect(bad({ architectures: null })).toMatch(/architectures must be a non-empty list of class names, got null/);
  });
  it("activation", () => expect(bad({ hidden_act: "relu" })).toMatch(/hidden_act "relu" is not supported/));
});

describe("readConfig", () => {
  it("fills HF defaults, and names the file in errors (remote-code model_type included)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    try {
      const p = path.join(dir, "config.json");
      await writeFile(p, JSON.stringify({ model_type: "phi", hidden_size: 256, num_attention_heads: 8, intermediate_size: 1024, num_hidden_layers: 2 }));
      const c = await readConfig(p);
      expect([c.vocab_size, c.partial_rotary_factor, c.num_key_value_heads, c.layer_norm_eps]).toEqual([51200, 0.5, 8, 1e-5]);
      await writeFile(p, JSON.stringify({ model_type: "phi-msft", n_embd: 2560 }));
      await expect(readConfig(p)).rejects.toThrow(/config\.json: model_type "phi-msft" is not supported.*older remote-code layout/);
      await writeFile(p, "{");
      await expect(readConfig(p)).rejects.toThrow(/config\.json: invalid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
