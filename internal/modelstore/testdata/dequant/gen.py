"""Regenerates the dequantization references in this directory.

For each GGML type: <TYPE>.blocks holds random encoded blocks (scale fields
forced to finite values) and <TYPE>.f32 the float32 little-endian values
llama.cpp's own Python package dequantizes them to. The Go tests compare
bit for bit, so these files are written by the reference implementation,
never by vulntune. (gguf-py has no Q8_K dequantizer; the Go tests check it
against a hand-built block.)

    python -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf==0.19.0
    /tmp/gguf-venv/bin/python gen.py
"""

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

# Byte offsets of the f16 scale fields in each block (block_q* in ggml-common.h).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

rng = np.random.default_rng(20240611)
for typ in [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
            T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
    block, size = GGML_QUANT_SIZES[typ]
    nblocks = 8 if block > 1 else 512
    raw = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    for off in F16_FIELDS.get(typ, []):
        scale = (rng.standard_normal(nblocks) * 0.05).astype(np.float16)
        raw[:, off:off + 2] = scale.view(np.uint8).reshape(nblocks, 2)
    if typ == T.BF16:  # keep random NaNs out; specials are covered by the Go tests
        v = raw.view(np.uint16)
        v[(v & 0x7F80) == 0x7F80] &= 0xBFFF
    if typ == T.F16:
        v = raw.view(np.uint16)
        v[(v & 0x7C00) == 0x7C00] &= 0xBFFF
    out = dequantize(raw.reshape(-1), typ).astype(np.float32).reshape(-1)
    raw.tofile(f"{typ.name}.blocks")
    out.astype("<f4").tofile(f"{typ.name}.f32")
    print(typ.name, nblocks, "blocks", out.size, "values")
