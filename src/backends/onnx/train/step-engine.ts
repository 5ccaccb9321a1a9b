/**
 * The onnx training engine's micro-step: Phi's forward and backward as ONNX graphs run by onnxruntime-node (no
 * training ops needed). The forward keeps each layer's input and, unless `gradientCheckpointing`, the activations
 * its forward graph saves (ORT's output tensors, fed back as they are and dropped after that layer's backward); the
 * backward runs each layer's backward graph top-down, which takes them back or, with checkpointing, recomputes the
 * layer's forward from its input. The head runs in chunks of positions.
 *
 * Session layout ("shared", the default): four sessions (layer forward, layer backward, the bottom layer's backward,
 * head) shared by all layers, the weights fed as inputs. The alternative, "per-layer" (each layer's forward and
 * backward session holding its frozen tensors as initializers), is kept for bench/train-layout.ts, which measures
 * both: NF4 codes as initializers get their dequantization constant-folded into float32 copies (the NF4 saving gone),
 * and with float32 weights the per-layer sessions were not faster (figures in README, "Training engines").
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import { batchRows, type Batch } from "../../../data/batcher.js";
import { attentionBias, defaultPositions, rotaryTables } from "../../../model/attention-inputs.js";
import { rotaryDim, type PhiConfig } from "../../../model/config.js";
import { UserError } from "../../../model/errors.js";
import { nf4Absmax, quantizeNf4 } from "../../../model/nf4.js";
import {
  ATTENTION_BIAS, GRAD_PREFIX, LAYER_INPUT, LAYER_OUTPUT, LOSS, LOSS_WEIGHTS, loraInputNames, nf4InputNames, ROTARY_COS, ROTARY_SIN, TARGETS,
} from "../../../model/onnx-names.js";
import { loraScale, type LoraWeights } from "../../../model/peft.js";
import { layerPath, LINEAR_MODULES, linearFeatures } from "../../../model/phi-layout.js";
import { dropoutMultipliers } from "../../training/dropout.js";
import { shiftLabels } from "../../training/labels.js";
import { loraParams } from "../../training/lora.js";
import type { TrainingHyperparameters } from "../../training/spec.js";
import type { LossSum, MicroStepResult, StepEngine, StepEngineFactory } from "../../training/step-engine.js";
import type { BackendInfo } from "../../types.js";
import { FLOAT, GraphBuilder, inlineSink, onnx, UINT8 } from "../export/graph.js";
import { cudaAvailable } from "../session.js";
import { headGraph } from "./head-graph.js";
import { layerBackwardGraph, layerForwardGraph, localModule, type LayerGraphOptions } from "./layer-graph.js";
import { checkOnnxMemory, HEAD_CHUNK_BYTES } from "./memory.js";

export type OrtProvider = "cpu" | "cuda";


type Feeds = Record<string, ort.Tensor>;

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);

export type SessionLayout = "shared" | "per-layer";

export function onnxStepEngine(provider: OrtProvider, threads = os.availableParallelism(), layout: SessionLayout = "shared"): StepEngineFactory {
  const info: BackendInfo = { backend: "onnx", engine: `ort-${provider}`, device: provider === "cuda" ? "gpu" : "cpu", threads };
  return {
    info,
    checkFits(config, hp, longest) {
      if (provider === "cpu") checkOnnxMemory(config, hp, Math.min(hp.maxSeqLength, longest));
    },
    load: (config, read, hp, lora) => OnnxStep.load(config, read, hp, lora, provider, threads, layout),
  };
}

class OnnxStep implements StepEngine {
  private params: Float32Array[];

  private constructor(
    private readonly config: PhiConfig,
    private readonly hp: TrainingHyperparameters,
    private readonly lora: LoraWeights[],
    private readonly layers: Feeds[],
    private readonly head: Feeds,
    private readonly embedding: Float32Array,
    private readonly sessions: { forward: ort.InferenceSession[]; backward: ort.InferenceSession[]; head: ort.InferenceSession },
    private readonly layout: SessionLayout,
  ) {
    this.params = loraParams(lora, hp.r);
  }

  static async load(
    config: PhiConfig, load: (name: string) => Promise<Float32Array>, hp: TrainingHyperparameters, lora: LoraWeights[],
    provider: OrtProvider, threads: number, layout: SessionLayout,
  ): Promise<OnnxStep> {
    const h = config.hidden_size, v = config.vocab_size;
    const read = async (name: string, n: number): Promise<Float32Array> => {
      const data = await load(name);
      if (data.length !== n) throw new UserError(`tensor ${name}: expected ${n} values, got ${data.length}`);
      return data;
    };
    const layers: Feeds[] = [];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const p = layerPath(i);
      const feeds: Feeds = {
        "input_layernorm.weight": f32(await read(`${p}.input_layernorm.weight`, h), [h]),
        "input_layernorm.bias": f32(await read(`${p}.input_layernorm.bias`, h), [h]),
      };
      for (const m of LINEAR_MODULES) {
        const [inF, outF] = linearFeatures(config, m);
        const name = localModule(m);
        const w = await read(`${p}.${name}.weight`, inF * outF);
        if (hp.quant === "nf4") {
          // QLoRA's double-quantized constants, expanded to the float absmax the graphs read
          const q = quantizeNf4(w, [outF, inF], { doubleQuant: true });
          const n = nf4InputNames(name);
          feeds[n.codes] = new ort.Tensor("uint8", q.packed, [q.packed.length]);
          const absmax = nf4Absmax(q);
          feeds[n.absmax] = f32(absmax, [absmax.length]);
        } else {
          feeds[`${name}.weight`] = f32(w, [outF, inF]);
        }
        feeds[`${name}.bias`] = f32(await read(`${p}.${name}.bias`, outF), [outF]);
      }
      layers.push(feeds);
    }
    const embedding = await read("model.embed_tokens.weight", v * h);
    const head: Feeds = {
      "final_layernorm.weight": f32(await read("model.final_layernorm.weight", h), [h]),
      "final_layernorm.bias": f32(await read("model.final_layernorm.bias", h), [h]),
      "lm_head.weight": f32(config.tie_word_embeddings ? embedding : await read("lm_head.weight", v * h), [v, h]),
      "lm_head.bias": f32(await read("lm_head.bias", v), [v]),
    };
    const o: LayerGraphOptions = {
      quant: hp.quant, targets: hp.targetModules, r: hp.r, dropout: hp.loraDropout > 0, gradientCheckpointing: hp.gradientCheckpointing,
      scale: loraScale({ r: hp.r, lora_alpha: hp.loraAlpha, use_rslora: hp.useRslora }),
    };
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3,
    };
    // layer 0's backward is the bottom graph (no input gradient). Every session keeps its own arena at its largest
    // run; the bottom one runs once a step, so it gives its buffers back instead (no slower on the mid bench config,
    // and 0.5 GiB less peak RSS on 8 layers of phi-2 at 4 × 512: 6.4 against 7.0 GiB)
    const forward = layerForwardGraph(config, o), backward = layerBackwardGraph(config, o), bottom = layerBackwardGraph(config, o, false);
    const once = { ...options, enableCpuMemArena: false };
    const sessions = { forward: [] as ort.InferenceSession[], backward: [] as ort.InferenceSession[], head: await ort.InferenceSession.create(headGraph(config), options) };
    if (layout === "shared") {
      sessions.forward.push(await ort.InferenceSession.create(forward, options));
      sessions.backward.push(await ort.InferenceSession.create(bottom, once), await ort.InferenceSession.create(backward, options));
    } else {
      for (const [l, feeds] of layers.entries()) {
        sessions.forward.push(await ort.InferenceSession.create(withInitializers(forward, feeds), options));
        sessions.backward.push(await ort.InferenceSession.create(withInitializers(l === 0 ? bottom : backward, feeds), l === 0 ? once : options));
      }
      layers.fill({}); // held by the sessions now
    }
    return new OnnxStep(config, hp, lora, layers, head, embedding, sessions, layout);
  }

  private session(kind: "forward" | "backward", layer: number): ort.InferenceSession {
    const list = this.sessions[kind];
    if (this.layout === "per-layer") return list[layer];
    return kind === "backward" && layer > 0 ? list[1] : list[0];
  }

  setParams(params: Float32Array[]): void {
    this.params = params.map((p) => p.slice());
  }

  /** The feeds every layer shares for this batch (attention bias, rotary tables) and each layer's LoRA feeds. */
  private batchFeeds(batch: Batch, seeds: number[] | null): { shared: Feeds; loraFeeds: (layer: number) => Feeds } {
    const c = this.config;
    const { batchSize: B, seqLen: T } = batch;
    const N = B * T, rot = rotaryDim(c);
    const maskRows = batchRows(batch.attentionMask, batch);
    const segmentRows = batch.segmentIds && batchRows(batch.segmentIds, batch);
    const tables = rotaryTables(defaultPositions(maskRows, segmentRows), rot, c.rope_theta);
    const shared: Feeds = {
      [ATTENTION_BIAS]: f32(attentionBias(maskRows, segmentRows), [B, 1, T, T]),
      [ROTARY_COS]: f32(tables.cos, [B, 1, T, rot]),
      [ROTARY_SIN]: f32(tables.sin, [B, 1, T, rot]),
    };
    const perLayer = this.lora.length / c.num_hidden_layers;
    const loraFeeds = (layer: number): Feeds => {
      const feeds: Feeds = {};
      for (let k = 0; k < perLayer; k++) {
        const j = layer * perLayer + k;
        const w = this.lora[j];
        const names = loraInputNames(localModule(this.hp.targetModules[k]));
        feeds[names.at] = f32(this.params[2 * j], [w.inFeatures, this.hp.r]);
        feeds[names.bt] = f32(this.params[2 * j + 1], [this.hp.r, w.outFeatures]);
        // the same masks in both passes: drawn again from the same seed rather than kept; all ones when evaluating
        // (the graphs of a job with dropout take the mask as an input)
        if (this.hp.loraDropout > 0) {
          const n = N * w.inFeatures;
          feeds[names.dropout] = f32(seeds ? dropoutMultipliers(n, this.hp.loraDropout, seeds[j]) : new Float32Array(n).fill(1), [N, w.inFeatures]);
        }
      }
      return feeds;
    };
    return { shared, loraFeeds };
  }

  /**
   * The layers' forward from the embeddings: the top layer's output, and (for backward) what each layer's backward
   * graph takes from its forward: its input, and the saved activations unless checkpointing.
   */
  private async forward(batch: Batch, feeds: ReturnType<OnnxStep["batchFeeds"]>, keep: boolean): Promise<{ top: Float32Array; kept: Feeds[] }> {
    const N = batch.batchSize * batch.seqLen, H = this.config.hidden_size;
    const embedded = new Float32Array(N * H);
    for (let i = 0; i < N; i++) embedded.set(this.embedding.subarray(batch.inputIds[i] * H, (batch.inputIds[i] + 1) * H), i * H);
    let x: ort.Tensor = f32(embedded, [N, H]);
    const kept: Feeds[] = [];
    for (let l = 0; l < this.config.num_hidden_layers; l++) {
      const session = this.session("forward", l);
      const out = await session.run({ ...this.layers[l], ...feeds.shared, ...feeds.loraFeeds(l), [LAYER_INPUT]: x }, keep ? session.outputNames : [LAYER_OUTPUT]);
      const { [LAYER_OUTPUT]: y, ...saved } = out;
      if (keep) kept.push({ ...saved, [LAYER_INPUT]: x });
      x = y;
    }
    return { top: x.data as Float32Array, kept };
  }

  /**
   * The head over the counted positions only, in chunks (the others weigh 0: no loss, no gradient): Σ weight ×
   * cross-entropy, the count, and the gradient w.r.t. the top layer's output.
   */
  private async lossHead(batch: Batch, top: Float32Array, weightOf: (count: number) => number): Promise<{ loss: number; count: number; dy: Float32Array }> {
    const c = this.config;
    const { batchSize: B, seqLen: T } = batch;
    const H = c.hidden_size;
    const { targets, count } = shiftLabels(batch.labels, B, T);
    const w = weightOf(count);
    const counted = Array.from(targets.keys()).filter((i) => targets[i] >= 0);
    const chunk = Math.max(1, Math.floor(HEAD_CHUNK_BYTES / (4 * c.vocab_size)));
    const dy = new Float32Array(B * T * H);
    let loss = 0;
    for (let s = 0; s < counted.length; s += chunk) {
      const rows = counted.slice(s, s + chunk);
      const xs = new Float32Array(rows.length * H);
      rows.forEach((r, k) => xs.set(top.subarray(r * H, (r + 1) * H), k * H));
      const out = await this.sessions.head.run({
        ...this.head,
        [LAYER_INPUT]: f32(xs, [rows.length, H]),
        [TARGETS]: new ort.Tensor("int64", BigInt64Array.from(rows, (r) => BigInt(targets[r])), [rows.length]),
        [LOSS_WEIGHTS]: f32(new Float32Array(rows.length).fill(w), [rows.length]),
      });
      loss += (out[LOSS].data as Float32Array)[0];
      const dxs = out[GRAD_PREFIX + LAYER_INPUT].data as Float32Array;
      rows.forEach((r, k) => dy.set(dxs.subarray(k * H, (k + 1) * H), r * H));
    }
    return { loss, count, dy };
  }

  async microStep(batch: Batch, weight: number, seeds: number[] | null): Promise<MicroStepResult> {
    const c = this.config;
    const N = batch.batchSize * batch.seqLen, H = c.hidden_size;
    const feeds = this.batchFeeds(batch, seeds);
    const { top, kept } = await this.forward(batch, feeds, true);
    const head = await this.lossHead(batch, top, (count) => (count > 0 ? Math.fround(weight / count) : 0));

    // backward, top-down, each layer from what its forward kept
    const perLayer = this.lora.length / c.num_hidden_layers;
    let dy: ort.Tensor = f32(head.dy, [N, H]);
    const grads: Float32Array[] = new Array(this.params.length);
    for (let l = c.num_hidden_layers - 1; l >= 0; l--) {
      const out = await this.session("backward", l).run({
        ...this.layers[l], ...feeds.shared, ...feeds.loraFeeds(l), ...kept[l], [GRAD_PREFIX + LAYER_OUTPUT]: dy,
      });
      for (const t of Object.values(kept[l])) t.dispose();
      if (l > 0) dy = out[GRAD_PREFIX + LAYER_INPUT];
      for (let k = 0; k < perLayer; k++) {
        const j = l * perLayer + k;
        const names = loraInputNames(localModule(this.hp.targetModules[k]));
        grads[2 * j] = out[GRAD_PREFIX + names.at].data as Float32Array;
        grads[2 * j + 1] = out[GRAD_PREFIX + names.bt].data as Float32Array;
      }
    }
    return { loss: head.loss, grads };
  }

  async evalLoss(batch: Batch): Promise<LossSum> {
    const { top } = await this.forward(batch, this.batchFeeds(batch, null), false);
    const { loss, count } = await this.lossHead(batch, top, () => 1);
    return { sum: loss, count };
  }

  dispose(): void {
    for (const s of [...this.sessions.forward, ...this.sessions.backward, this.sessions.head]) void s.release();
  }
}

/** Does ORT's CUDA provider load here? (its library is present and a session on it starts) */
export async function cudaLoads(): Promise<boolean> {
  if (!cudaAvailable()) return false;
  try {
    const g = new GraphBuilder(inlineSink);
    g.input("x", FLOAT, [1]);
    g.node("Identity", ["x"], {}, { outputs: ["y"] });
    g.output("y", FLOAT, [1]);
    const s = await ort.InferenceSession.create(g.encode("tunegraph-probe", { "": 17 }), { executionProviders: ["cuda"], logSeverityLevel: 3 });
    await s.release();
    return true;
  } catch {
    return false;
  }
}

/** The graph with these inputs turned into initializers (the per-layer layout). */
function withInitializers(model: Uint8Array, feeds: Feeds): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const graph = m.graph!;
  graph.input = (graph.input ?? []).filter((i) => !(i.name! in feeds));
  graph.initializer ??= [];
  for (const [name, t] of Object.entries(feeds)) {
    const data = t.data as Float32Array | Uint8Array;
    graph.initializer.push({
      name, dims: t.dims.map(Number), dataType: t.type === "uint8" ? UINT8 : FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
  }
  return onnx.ModelProto.encode(m).finish();
}
