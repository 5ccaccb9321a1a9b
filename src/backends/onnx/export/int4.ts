/**
 * Symmetric 4-bit block quantization in the layout of ORT's com.microsoft MatMulNBits:
 * B is uint8 [N, blocks, blockSize / 2] (the row of W [N, K] cut into blocks along K, two codes a byte, low nibble
 * first), scales float [N * blocks], no zero points (the implied zero point is 8). As ORT's own quantizer does, the
 * value of largest magnitude maps to code 0 (scale = v / -8) so the full range -8..7 is used.
 */
export interface Int4Weight {
  n: number;
  k: number;
  blockSize: number;
  blocks: number;
  packed: Uint8Array;
  scales: Float32Array;
}

export function quantizeInt4(w: Float32Array, n: number, k: number, blockSize: number): Int4Weight {
  if (w.length !== n * k) throw new Error(`quantizeInt4: ${w.length} values for [${n}, ${k}]`);
  if (blockSize % 2 !== 0) throw new Error(`quantizeInt4: block size ${blockSize} must be even`);
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  for (let row = 0; row < n; row++) {
    const base = row * k;
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, k);
      let extreme = 0;
      for (let j = start; j < end; j++) if (Math.abs(w[base + j]) > Math.abs(extreme)) extreme = w[base + j];
      const scale = Math.fround(extreme / -8);
      scales[row * blocks + b] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      const out = (row * blocks + b) * blob;
      for (let j = start; j < start + blockSize; j++) {
        // the tail of a block past K is padding: code 8 decodes to 0
        const q = j < end ? Math.min(15, Math.max(0, Math.round(w[base + j] * inv) + 8)) : 8;
        const i = j - start;
        packed[out + (i >> 1)] |= i & 1 ? q << 4 : q;
      }
    }
  }
  return { n, k, blockSize, blocks, packed, scales };
}

/** The float weights [N, K] that MatMulNBits computes with. */
export function dequantizeInt4(q: Int4Weight): Float32Array {
  const w = new Float32Array(q.n * q.k);
  const blob = q.blockSize / 2;
  for (let row = 0; row < q.n; row++) {
    for (let j = 0; j < q.k; j++) {
      const b = Math.floor(j / q.blockSize);
      const i = j - b * q.blockSize;
      const byte = q.packed[(row * q.blocks + b) * blob + (i >> 1)];
      const code = i & 1 ? byte >> 4 : byte & 15;
      w[row * q.k + j] = (code - 8) * q.scales[row * q.blocks + b];
    }
  }
  return w;
}
