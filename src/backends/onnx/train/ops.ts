/** Terse ONNX ops over the exporter's GraphBuilder, for the training graphs written out by hand. */
import { attr, GraphBuilder } from "../export/graph.js";

export class Ops {
  constructor(readonly g: GraphBuilder) {}

  scalar(v: number): string {
    return this.g.floats([v], true);
  }
  add(a: string, b: string): string {
    return this.g.op("Add", [a, b]);
  }
  sub(a: string, b: string): string {
    return this.g.op("Sub", [a, b]);
  }
  mul(a: string, b: string): string {
    return this.g.op("Mul", [a, b]);
  }
  neg(a: string): string {
    return this.g.op("Neg", [a]);
  }
  matmul(a: string, b: string): string {
    return this.g.op("MatMul", [a, b]);
  }
  /** 2-D a·b with either operand transposed (ORT's sgemm takes both layouts). */
  gemm(a: string, b: string, o: { transA?: boolean; transB?: boolean; bias?: string } = {}): string {
    return this.g.op("Gemm", o.bias ? [a, b, o.bias] : [a, b], { transA: attr.int(o.transA ? 1 : 0), transB: attr.int(o.transB ? 1 : 0) });
  }
  transpose(a: string, perm: number[]): string {
    return this.g.op("Transpose", [a], { perm: attr.ints(perm) });
  }
  reshape(a: string, shape: string): string {
    return this.g.op("Reshape", [a, shape]);
  }
  /** Elements [start, end) of the last axis. */
  lastAxis(a: string, start: number, end: number): string {
    return this.g.op("Slice", [a, this.g.ints([start]), this.g.ints([end]), this.g.ints([-1])]);
  }
  concatLast(xs: string[]): string {
    return this.g.op("Concat", xs, { axis: attr.int(-1) });
  }
  /** Mean over the last axis, kept as size 1 (opset 17: axes as an attribute). */
  meanLast(a: string): string {
    return this.g.op("ReduceMean", [a], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  }
  /** Sum over the last axis, kept as size 1. */
  sumLast(a: string): string {
    return this.g.op("ReduceSum", [a, this.g.ints([-1])], { keepdims: attr.int(1) });
  }
}
