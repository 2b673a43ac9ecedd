"""The PEFT form of an mlx-lm LoRA adapter, written beside it in
adapters/peft/ so `peft.PeftModel.from_pretrained(base, dir)` loads the
adapter onto the transformers base.

mlx-lm's LoRALinear computes y = x W^T + scale * (x @ lora_a) @ lora_b with
lora_a (in, r) and lora_b (r, out); PEFT computes
y = x W^T + (lora_alpha / r) * x A^T B^T with lora_A.weight (r, in) and
lora_B.weight (out, r). So A = lora_a^T, B = lora_b^T and
lora_alpha = scale * r: the weight delta B A (alpha / r) equals mlx-lm's
scale * lora_b^T lora_a^T exactly."""

import json
import os
import re

# mlx-lm's trainable key of one adapter matrix, e.g.
# "model.layers.3.self_attn.q_proj.lora_a".
_MLX_KEY = re.compile(r"^(?P<module>.*\.layers\.(?P<layer>\d+)\.(?P<path>.+))\.lora_(?P<ab>[ab])$")

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"


def peft_key(mlx_key):
    """PEFT's name for an mlx-lm adapter key: under base_model.model, with
    lora_A.weight / lora_B.weight."""
    m = _MLX_KEY.match(mlx_key)
    if m is None:
        raise ValueError(f"not an mlx-lm LoRA key: {mlx_key!r}")
    return f"base_model.model.{m['module']}.lora_{m['ab'].upper()}.weight"


def convert(weights, adapter_config, base_model, n_layers=None):
    """PEFT tensors and adapter_config.json for mlx-lm adapter weights
    (name -> array with .T) and mlx-lm's adapter config. n_layers is the
    model's block count: when the adapter covers fewer blocks, the config
    lists the ones it covers (layers_to_transform)."""
    lp = adapter_config["lora_parameters"]
    rank = int(lp["rank"])
    scale = float(lp["scale"])
    tensors, layers, modules = {}, set(), set()
    for k, v in weights.items():
        m = _MLX_KEY.match(k)
        if m is None:
            raise ValueError(f"not an mlx-lm LoRA key: {k!r}")
        if len(v.shape) != 2:
            raise ValueError(f"{k}: shape {tuple(v.shape)}, want a matrix (mixture-of-experts LoRA has no PEFT form here)")
        want = 1 if m["ab"] == "a" else 0
        if v.shape[want] != rank:
            raise ValueError(f"{k}: shape {tuple(v.shape)} does not hold rank {rank}")
        tensors[peft_key(k)] = v.T
        layers.add(int(m["layer"]))
        modules.add(m["path"].rsplit(".", 1)[-1])
    if not tensors:
        raise ValueError("no LoRA weights to convert")
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": rank,
        "lora_alpha": scale * rank,
        "lora_dropout": float(lp.get("dropout", 0.0)),
        "target_modules": sorted(modules),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "modules_to_save": None,
        "use_rslora": False,
        "use_dora": False,
        "revision": None,
        "layers_to_transform": None,
        "layers_pattern": None,
    }
    if n_layers is not None and len(layers) < n_layers:
        config["layers_to_transform"] = sorted(layers)
        config["layers_pattern"] = "layers"
    return tensors, config


def write_peft(dirpath, weights, adapter_config, base_model, n_layers=None):
    """Write adapters/peft/: adapter_config.json and adapter_model.safetensors
    (PEFT's key names, safetensors metadata format "pt", contiguous copies
    of the transposed matrices)."""
    import mlx.core as mx

    tensors, config = convert(weights, adapter_config, base_model, n_layers)
    os.makedirs(dirpath, exist_ok=True)
    # A transpose is a view; save contiguous copies in the weights' dtype.
    tensors = {k: mx.contiguous(v) for k, v in tensors.items()}
    mx.save_safetensors(os.path.join(dirpath, WEIGHTS_NAME), tensors, metadata={"format": "pt"})
    with open(os.path.join(dirpath, CONFIG_NAME), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    return config
