/**
 * Faster Identity, Slice and SplitV for tfjs' wasm engine, same results.
 *  - Identity (tf.clone) shares the data, as tfjs' cpu engine does, instead of copying it: autodiff clones every
 *    tensor it saves for the backward pass, so the copies doubled a training step's activation memory (out of the
 *    4 GiB heap at batch 3 × 256 tokens of a 512-wide Phi) and gave XNNPACK a new weight to pack on every clone.
 *  - tfjs' Slice copies the WHOLE input out of the heap (`readSync`) for every slice, so taking N pieces of a tensor
 *    costs N times its size (rotary slices of q and k, attention heads); these copy only the sliced values.
 */
import * as tf from "@tensorflow/tfjs";

/** The BackendWasm methods tfjs' own JS kernels use to write outputs in the heap. */
interface WasmHeap {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Copy x[begin : begin + size] as runs of contiguous values (the trailing dims taken whole, plus one more). */
function sliceHeap(backend: WasmHeap, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const n = size.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  // views after makeOutput: an allocation may grow (and, single-threaded, replace) the heap's buffer
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return out;
  }
  const strides = tf.util.computeStrides(x.shape);
  const stride = (d: number) => (d === rank - 1 ? 1 : strides[d]);
  let k = rank - 1;
  let run = size[k];
  while (k > 0 && size[k] === x.shape[k]) run *= size[--k];
  const idx = new Array<number>(k).fill(0);
  let base = begin[k] * stride(k);
  for (let d = 0; d < k; d++) base += begin[d] * stride(d);
  for (let o = 0; o < n; o += run) {
    let off = base;
    for (let d = 0; d < k; d++) off += idx[d] * stride(d);
    dst.set(src.subarray(off, off + run), o);
    for (let d = k - 1; d >= 0 && ++idx[d] === size[d]; d--) idx[d] = 0;
  }
  return out;
}

let registered = false;

/** Replace the wasm engine's Identity, Slice and SplitV (strings keep tfjs' kernels: they do not live in the heap). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const original = {
    identity: tf.getKernel(tf.Identity, "wasm")!.kernelFunc,
    slice: tf.getKernel(tf.Slice, "wasm")!.kernelFunc,
    splitV: tf.getKernel(tf.SplitV, "wasm")!.kernelFunc,
  };
  // tfjs warns when a kernel is registered twice; this replacement is deliberate
  const quiet = <T>(f: () => T): T => {
    const warn = console.warn;
    console.warn = () => {};
    try {
      return f();
    } finally {
      console.warn = warn;
    }
  };
  quiet(() => {
    tf.registerKernel({
      kernelName: tf.Identity,
      backendName: "wasm",
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (x.dtype === "string") return original.identity(args);
        (args.backend as unknown as WasmHeap).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    });
    tf.registerKernel({
      kernelName: tf.Slice,
      backendName: "wasm",
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (x.dtype === "string") return original.slice(args);
        const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
        const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
        return sliceHeap(args.backend as unknown as WasmHeap, x, b, s);
      },
    });
    tf.registerKernel({
      kernelName: tf.SplitV,
      backendName: "wasm",
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (x.dtype === "string") return original.splitV(args);
        const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
        const ax = tf.util.parseAxisParam(axis, x.shape)[0];
        const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
        const begin = new Array<number>(x.shape.length).fill(0);
        return sizes.map((s) => {
          const size = [...x.shape];
          size[ax] = s;
          const piece = sliceHeap(args.backend as unknown as WasmHeap, x, [...begin], size);
          begin[ax] += s;
          return piece;
        });
      },
    });
  });
}
