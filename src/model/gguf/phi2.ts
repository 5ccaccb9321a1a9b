/**
 * An HF PhiForCausalLM checkpoint → one GGUF file that llama.cpp loads as its `phi2` architecture: the tensor names
 * and metadata keys of llama.cpp's convert_hf_to_gguf.py (class Phi2Model) and llama-arch.cpp, q/k/v kept as three
 * tensors (llama.cpp's phi2 loader takes them separate or fused), the tokenizer as a gpt2 BPE vocabulary with the
 * `phi-2` pre-tokenizer.
 * Weight types: `f16` and `q8_0` as convert_hf_to_gguf.py's --outtype; `q4_0` is Q4_0 for every matrix, the token
 * embedding and lm_head included (llama-quantize --pure; without --pure llama-quantize keeps lm_head in Q6_K).
 * Vectors (norms, biases) stay F32; a matrix whose rows are not a multiple of 32 falls back to F16, as the converter does.
 */
import path from "node:path";
import { Checkpoint } from "../checkpoint.js";
import { rotaryDim, type PhiConfig } from "../config.js";
import { UserError } from "../errors.js";
import { makeDir } from "../make-dir.js";
import { writeIntoEmptyDir } from "../out-dir.js";
import { layerPath, LINEAR_MODULES, modulePath, type LinearModule } from "../phi-layout.js";
import { GGML_TYPES, GgufWriter, kv, type GgmlType, type GgufTensorInfo, type GgufValue } from "./file.js";
import { encodeTensor } from "./quants.js";
import { readGgufVocab, type GgufVocab } from "./vocab.js";

export const GGUF_QUANTS = ["f16", "q8_0", "q4_0"] as const;
export type GgufQuant = (typeof GGUF_QUANTS)[number];

const ARCH = "phi2";
/** The type of the matrices, and general.file_type (llama.cpp's LlamaFileType MOSTLY_F16 / MOSTLY_Q8_0 / MOSTLY_Q4_0). */
const QUANT: Record<GgufQuant, { type: GgmlType; fileType: number }> = {
  f16: { type: "F16", fileType: 1 },
  q8_0: { type: "Q8_0", fileType: 7 },
  q4_0: { type: "Q4_0", fileType: 2 },
};
/** GGML_QNT_VERSION: the current layout of the quantized blocks. */
const QUANTIZATION_VERSION = 2;

/** llama.cpp's names (gguf-py MODEL_TENSOR) for Phi's six linears. */
const LINEAR_NAMES: Record<LinearModule, string> = {
  q_proj: "attn_q", k_proj: "attn_k", v_proj: "attn_v", dense: "attn_output", fc1: "ffn_up", fc2: "ffn_down",
};

/** HF tensor name → GGUF tensor name, for every tensor of the model. */
export function ggufTensorNames(c: PhiConfig): Map<string, string> {
  const names = new Map<string, string>([["model.embed_tokens.weight", "token_embd.weight"]]);
  for (const p of ["weight", "bias"]) {
    for (let l = 0; l < c.num_hidden_layers; l++) {
      names.set(`${layerPath(l)}.input_layernorm.${p}`, `blk.${l}.attn_norm.${p}`);
      for (const m of LINEAR_MODULES) names.set(`${modulePath(l, m)}.${p}`, `blk.${l}.${LINEAR_NAMES[m]}.${p}`);
    }
    names.set(`model.final_layernorm.${p}`, `output_norm.${p}`);
    names.set(`lm_head.${p}`, `output.${p}`);
  }
  return names;
}

function metadata(c: PhiConfig, name: string, quant: GgufQuant, vocab: GgufVocab): Map<string, GgufValue> {
  const m = new Map<string, GgufValue>([
    ["general.architecture", kv.str(ARCH)],
    ["general.type", kv.str("model")],
    ["general.name", kv.str(name)],
    [`${ARCH}.context_length`, kv.u32(c.max_position_embeddings)],
    [`${ARCH}.embedding_length`, kv.u32(c.hidden_size)],
    [`${ARCH}.feed_forward_length`, kv.u32(c.intermediate_size)],
    [`${ARCH}.block_count`, kv.u32(c.num_hidden_layers)],
    [`${ARCH}.attention.head_count`, kv.u32(c.num_attention_heads)],
    [`${ARCH}.attention.head_count_kv`, kv.u32(c.num_key_value_heads)],
    [`${ARCH}.attention.layer_norm_epsilon`, kv.f32(c.layer_norm_eps)],
    [`${ARCH}.rope.dimension_count`, kv.u32(rotaryDim(c))],
    [`${ARCH}.rope.freq_base`, kv.f32(c.rope_theta)],
    ["general.file_type", kv.u32(QUANT[quant].fileType)],
    ["tokenizer.ggml.model", kv.str("gpt2")],
    ["tokenizer.ggml.pre", kv.str("phi-2")],
    ["tokenizer.ggml.tokens", kv.strings(vocab.tokens)],
    ["tokenizer.ggml.token_type", kv.i32s(vocab.tokenTypes)],
    ["tokenizer.ggml.merges", kv.strings(vocab.merges)],
    ["tokenizer.ggml.bos_token_id", kv.u32(c.bos_token_id)],
    ["tokenizer.ggml.eos_token_id", kv.u32(c.eos_token_id)],
  ]);
  if (vocab.unknownTokenId !== undefined) m.set("tokenizer.ggml.unknown_token_id", kv.u32(vocab.unknownTokenId));
  m.set("tokenizer.ggml.add_bos_token", kv.bool(false));
  m.set("general.quantization_version", kv.u32(QUANTIZATION_VERSION));
  return m;
}

export interface GgufExportResult {
  path: string;
  sizeBytes: number;
  quant: GgufQuant;
  /** tensors written in each ggml type */
  types: Partial<Record<GgmlType, number>>;
}

/** The file name inside the output directory: `model-f16.gguf`, `model-q4_0.gguf`. */
export const ggufFileName = (quant: GgufQuant) => `model-${quant}.gguf`;

/** Write `outDir/model-<quant>.gguf` (outDir absent or empty; left so when it fails) from a Phi checkpoint directory. */
export async function exportGguf(checkpointDir: string, outDir: string, quant: string): Promise<GgufExportResult> {
  if (!(GGUF_QUANTS as readonly string[]).includes(quant)) throw new UserError(`unsupported GGUF quantization "${quant}": expected one of ${GGUF_QUANTS.join(", ")}`);
  const q = quant as GgufQuant;
  if (path.resolve(outDir) === path.resolve(checkpointDir)) throw new UserError(`${outDir} is the checkpoint directory: choose another one`, "CONFLICT");
  const ckpt = await Checkpoint.open(checkpointDir);
  try {
    const c = ckpt.config;
    const vocab = await readGgufVocab(checkpointDir, c.vocab_size);
    const names = ggufTensorNames(c);
    const tensors: (GgufTensorInfo & { hf: string })[] = ckpt.names().map((hf) => {
      const dims = ckpt.shape(hf).reverse();
      const block = GGML_TYPES[QUANT[q].type].blockSize;
      const type: GgmlType = dims.length === 1 ? "F32" : dims[0] % block === 0 ? QUANT[q].type : "F16";
      return { hf, name: names.get(hf)!, dims, type };
    });
    const file = path.join(outDir, ggufFileName(q));
    return await writeIntoEmptyDir(outDir, async () => {
      await makeDir(outDir);
      const w = await GgufWriter.create(file, metadata(c, path.basename(path.resolve(checkpointDir)), q, vocab), tensors);
      try {
        for (const t of tensors) await w.writeTensor(t.name, encodeTensor(await ckpt.read(t.hf), t.type));
      } catch (e) {
        await w.close().catch(() => undefined); // keep the original error
        throw e;
      }
      const types: Partial<Record<GgmlType, number>> = {};
      for (const t of tensors) types[t.type] = (types[t.type] ?? 0) + 1;
      return { path: file, sizeBytes: await w.close(), quant: q, types };
    });
  } finally {
    await ckpt.close();
  }
}
