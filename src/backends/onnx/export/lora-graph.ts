/**
 * The LoRA branch of an adapter-ready export, as Punica's and S-LoRA's batched kernels compute it but with dense ops
 * ORT has: one product of x with every slot's A side by side, the slots other than each row's own zeroed (and its
 * own scaled) by a [batch, slots] weight, one product with every slot's B stacked. Its cost grows with the slots
 * times the rank, which stays small next to the linear it adds to; no per-row gather of weights.
 */
import { LORA_INDICES, LORA_SCALES, loraInputName } from "../../../model/onnx-names.js";
import { attr, FLOAT, INT64, type GraphBuilder } from "./graph.js";

export interface LoraOptions {
  /** The linears that take adapters (PEFT's target_modules names). */
  targets: string[];
  /** The largest rank an adapter may have (checked when an adapter is loaded; the graph's rank axis is dynamic). */
  maxRank: number;
}

/** Adds the shared inputs once; `branch` then gives scale · (x·Aᵀ)·Bᵀ for one linear. */
export class LoraGraph {
  private readonly rowWeights: string; // [batch, 1, slots, 1]: the row's scale at its slot, 0 elsewhere
  private readonly perSlotShape: string; // [0, 0, slots, -1]: [B, S, slots·rank] → [B, S, slots, rank]

  constructor(private readonly g: GraphBuilder) {
    const indices = g.input(LORA_INDICES, INT64, ["batch_size"]);
    const scales = g.input(LORA_SCALES, FLOAT, ["lora_slots"]);
    const slots = g.op("Shape", [scales]);
    const slotIds = g.op("Range", [g.ints([0], true), g.op("Squeeze", [slots, g.ints([0])]), g.ints([1], true)]);
    const oneHot = g.op("Cast", [g.op("Equal", [g.op("Unsqueeze", [indices, g.ints([1])]), slotIds])], { to: attr.int(FLOAT) });
    this.rowWeights = g.op("Unsqueeze", [g.op("Mul", [oneHot, scales]), g.ints([1, 3])]);
    this.perSlotShape = g.op("Concat", [g.ints([0, 0]), slots, g.ints([-1])], { axis: attr.int(0) });
  }

  /** x [batch, seq, in] → [batch, seq, out]; the stacked A and B of `modulePath` become graph inputs. */
  branch(x: string, modulePath: string, inF: number, outF: number): string {
    const g = this.g;
    const a = g.input(loraInputName(modulePath, "A"), FLOAT, [inF, "lora_slots", "lora_rank"]);
    const b = g.input(loraInputName(modulePath, "B"), FLOAT, ["lora_slots", "lora_rank", outF]);
    const xa = g.op("MatMul", [x, g.op("Reshape", [a, g.ints([inF, -1])])]); // [B, S, slots·rank]
    const perSlot = g.op("Reshape", [xa, this.perSlotShape]);
    const weighted = g.op("Reshape", [g.op("Mul", [perSlot, this.rowWeights]), g.ints([0, 0, -1])]);
    return g.op("MatMul", [weighted, g.op("Reshape", [b, g.ints([-1, outF])])]);
  }
}
