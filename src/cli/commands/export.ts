import { Option, type Command } from "commander";
import { exportModel, PRECISIONS } from "../../backends/onnx/export/export.js";
import { INT4_BLOCK_SIZE, INT4_BLOCK_SIZES, type KvCacheType } from "../../backends/onnx/export/phi-graph.js";
import { DEFAULT_LORA_MAX_RANK, type Precision } from "../../backends/types.js";
import { exportGguf, GGUF_QUANTS } from "../../model/gguf/phi2.js";
import { action, num } from "../action.js";

interface ExportFlags {
  model: string;
  out: string;
  format: "onnx" | "gguf";
  precision: Precision;
  kvCache?: KvCacheType;
  blockSize: string;
  loraTargets?: string;
  loraMaxRank: number;
  quant: string;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("export an HF Phi checkpoint to ONNX with a KV cache (onnx/model.onnx, as transformers.js and optimum lay it out), or to GGUF for llama.cpp (--format gguf)")
    .requiredOption("--model <dir>", "HF Phi checkpoint directory (plain or merged)")
    .requiredOption("--out <dir>", "output directory (created; must be absent or empty)")
    .addOption(new Option("--format <f>", "onnx (tunegraph, transformers.js), or gguf (llama.cpp's phi2 architecture: llama.cpp, ollama, node-llama-cpp)").choices(["onnx", "gguf"]).default("onnx"))
    .addOption(new Option("--precision <p>", "onnx: fp32, or int4 (MatMulNBits, --block-size) for every linear layer and lm_head").choices(PRECISIONS).default("fp32"))
    .addOption(new Option("--block-size <n>", "onnx int4: weights per scale along K (larger: fewer bytes a token, faster batched decode)").choices(INT4_BLOCK_SIZES.map(String)).default(String(INT4_BLOCK_SIZE)))
    .addOption(new Option("--kv-cache <type>", "onnx: KV cache element type (default float32; float16 halves cache memory but ORT's CPU attention casts it every step)").choices(["float32", "float16"]))
    .option("--lora-targets <modules>", "onnx, adapter-ready: these linears (comma-separated: q_proj,k_proj,v_proj,dense,fc1,fc2) take LoRA adapters chosen per request")
    .option("--lora-max-rank <r>", "onnx, adapter-ready: the largest adapter rank it accepts", num("--lora-max-rank"), DEFAULT_LORA_MAX_RANK)
    .addOption(new Option("--quant <q>", "gguf: type of the weight matrices (norms and biases stay F32); q4_0 includes the embedding and lm_head").choices(GGUF_QUANTS).default("f16"))
    .action(action(async (flags: ExportFlags) => {
      const started = performance.now();
      const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
      if (flags.format === "gguf") {
        const res = await exportGguf(flags.model, flags.out, flags.quant);
        const types = Object.entries(res.types).map(([t, n]) => `${n} ${t}`).join(", ");
        process.stdout.write(`export: wrote gguf ${res.quant} ${res.path} (${(res.sizeBytes / 1e9).toFixed(3)} GB; tensors: ${types}) in ${seconds()} s\n`);
        return;
      }
      const lora = flags.loraTargets === undefined ? undefined : { targets: flags.loraTargets.split(",").map((t) => t.trim()).filter((t) => t !== ""), maxRank: flags.loraMaxRank };
      const res = await exportModel(flags.model, flags.out, { precision: flags.precision, kvCache: flags.kvCache, blockSize: Number(flags.blockSize), lora });
      const ready = lora ? `, adapter-ready (${lora.targets.join(", ")}; rank <= ${lora.maxRank})` : "";
      process.stdout.write(`export: wrote ${res.precision}${ready} ${res.modelPath} (${(res.sizeBytes / 1e9).toFixed(3)} GB) in ${seconds()} s\n`);
    }));
}
