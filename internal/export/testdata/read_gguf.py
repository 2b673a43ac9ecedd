"""Read a GGUF file with llama.cpp's own reader (the gguf package) and print
what it says as JSON: metadata the export test compares with the source
model, tensor names and types, and whether given tensors hold exactly the
bytes gguf-py's own quantizer makes from the source floats.

usage: read_gguf.py FILE.gguf [NAME=RAW.f32:ROWS:COLS ...]
"""
import json
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import quantize


def value(field):
    if hasattr(field, "contents"):
        return field.contents()
    parts = [field.parts[i] for i in field.data]
    if field.types and field.types[0].name == "STRING":
        return bytes(parts[0]).decode()
    return parts[0].tolist()[0]


reader = GGUFReader(sys.argv[1])
arch = value(reader.fields["general.architecture"])
out = {
    "architecture": arch,
    "context_length": int(value(reader.fields[arch + ".context_length"])),
    "block_count": int(value(reader.fields[arch + ".block_count"])),
    "chat_template": value(reader.fields["tokenizer.chat_template"]),
    "tokenizer_model": value(reader.fields["tokenizer.ggml.model"]),
    "tokenizer_pre": value(reader.fields["tokenizer.ggml.pre"]),
    "tokens": len(reader.fields["tokenizer.ggml.tokens"].data),
    "merges": len(reader.fields["tokenizer.ggml.merges"].data),
    "bos_token_id": int(value(reader.fields["tokenizer.ggml.bos_token_id"])),
    "eos_token_id": int(value(reader.fields["tokenizer.ggml.eos_token_id"])),
    "tensors": {t.name: t.tensor_type.name for t in reader.tensors},
    "quant_matches": {},
}
by_name = {t.name: t for t in reader.tensors}
for arg in sys.argv[2:]:
    name, spec = arg.split("=", 1)
    path, rows, cols = spec.rsplit(":", 2)
    src = np.fromfile(path, dtype=np.float32).reshape(int(rows), int(cols))
    t = by_name[name]
    want = quantize(src, GGMLQuantizationType(int(t.tensor_type)))
    out["quant_matches"][name] = np.asarray(t.data).tobytes() == want.tobytes()
json.dump(out, sys.stdout)
