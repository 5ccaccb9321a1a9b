"""PyTorch's real bf16 autocast product on the CPU, to check bench/int8-products.ts' emulation of it.

Usage: bf16_matmul.py JSON   with {threads, cases: [{a, w, out, m, k, n, layout}]}: a and w are raw float32 files
(A [m, k]; W [n, k] for layout "nt", A·Wᵀ as a linear's forward; W [k, n] for "nn", A·W as its input gradient);
each product, computed under torch.autocast("cpu", dtype=torch.bfloat16), is written to out as raw float32.
"""
import json
import sys

import numpy as np
import torch

spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
for case in spec["cases"]:
    m, k, n = case["m"], case["k"], case["n"]
    a = torch.from_numpy(np.fromfile(case["a"], dtype=np.float32).reshape(m, k))
    w = torch.from_numpy(np.fromfile(case["w"], dtype=np.float32).reshape((n, k) if case["layout"] == "nt" else (k, n)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = torch.nn.functional.linear(a, w) if case["layout"] == "nt" else torch.matmul(a, w)
    y.float().numpy().tofile(case["out"])
print(json.dumps({"torch": torch.__version__, "dtype": str(y.dtype)}))
