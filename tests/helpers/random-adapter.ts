import type { PhiConfig } from "../../src/model/config.js";
import { loraConfig, writeAdapter, type LoraWeights } from "../../src/model/peft.js";
import { linearFeatures, modulePath, type LinearModule } from "../../src/model/phi-layout.js";
import { uniforms } from "./random.js";

export interface AdapterSpec {
  r: number;
  alpha: number;
  targets: LinearModule[];
  rslora?: boolean;
  seed: number;
  std?: number;
}

/** A PEFT adapter with random A and B (B non-zero, unlike a fresh one, so that it changes the outputs) in `dir`. */
export async function randomAdapter(dir: string, config: PhiConfig, spec: AdapterSpec): Promise<void> {
  const u = uniforms(spec.seed);
  const std = spec.std ?? 0.1;
  const fill = (n: number) => Float32Array.from({ length: n }, () => (u() * 2 - 1) * std * 1.7);
  const weights: LoraWeights[] = [];
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    for (const t of spec.targets) {
      const [inF, outF] = linearFeatures(config, t);
      weights.push({ module: modulePath(layer, t), A: fill(spec.r * inF), B: fill(outF * spec.r), inFeatures: inF, outFeatures: outF });
    }
  }
  await writeAdapter(dir, loraConfig({ r: spec.r, loraAlpha: spec.alpha, loraDropout: 0, targetModules: spec.targets, useRslora: spec.rslora }), weights);
}
