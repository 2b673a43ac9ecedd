"""The PEFT adapter written beside mlx-lm's: PEFT's names, shapes and
config, safetensors metadata format "pt", and the same weight delta."""

import json
import os

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")

from vulntune_engine.peft import convert, peft_key, write_peft  # noqa: E402

RANK, SCALE, DIM, KV = 4, 2.5, 16, 8


def _mlx_adapter(layers=(2, 3)):
    """A synthetic mlx-lm adapter on q_proj (16->16) and v_proj (16->8) of
    the given blocks, as mlx-lm's LoRALinear holds it: lora_a (in, r),
    lora_b (r, out)."""
    rng = np.random.default_rng(7)
    w = {}
    for i in layers:
        for proj, out in (("q_proj", DIM), ("v_proj", KV)):
            w[f"model.layers.{i}.self_attn.{proj}.lora_a"] = mx.array(rng.normal(size=(DIM, RANK)).astype(np.float32))
            w[f"model.layers.{i}.self_attn.{proj}.lora_b"] = mx.array(rng.normal(size=(RANK, out)).astype(np.float32))
    cfg = {"fine_tune_type": "lora", "num_layers": len(layers),
           "lora_parameters": {"rank": RANK, "scale": SCALE, "dropout": 0.05, "keys": ["self_attn.q_proj", "self_attn.v_proj"]}}
    return w, cfg


def test_peft_key():
    assert peft_key("model.layers.3.self_attn.q_proj.lora_a") == "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"
    assert peft_key("model.layers.10.mlp.down_proj.lora_b") == "base_model.model.model.layers.10.mlp.down_proj.lora_B.weight"
    with pytest.raises(ValueError):
        peft_key("model.layers.3.self_attn.q_proj.weight")


def test_config_and_partial_layers():
    w, cfg = _mlx_adapter()
    _, pc = convert(w, cfg, "HuggingFaceTB/SmolLM2-135M-Instruct", n_layers=4)
    assert pc["peft_type"] == "LORA" and pc["task_type"] == "CAUSAL_LM"
    assert pc["r"] == RANK and pc["lora_alpha"] == SCALE * RANK and pc["lora_dropout"] == 0.05
    assert pc["target_modules"] == ["q_proj", "v_proj"]
    assert pc["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert pc["layers_to_transform"] == [2, 3] and pc["layers_pattern"] == "layers"
    _, every = convert(w, cfg, "b", n_layers=2)
    assert every["layers_to_transform"] is None


def test_refuses_wrong_rank():
    w, cfg = _mlx_adapter()
    cfg["lora_parameters"]["rank"] = RANK + 1
    with pytest.raises(ValueError, match="rank"):
        convert(w, cfg, "b")


def test_write_peft_matches_mlx_delta(tmp_path):
    from safetensors import safe_open

    w, cfg = _mlx_adapter()
    out = tmp_path / "peft"
    write_peft(str(out), w, cfg, "acme/base", n_layers=4)
    assert sorted(os.listdir(out)) == ["adapter_config.json", "adapter_model.safetensors"]
    pc = json.loads((out / "adapter_config.json").read_text())
    scaling = pc["lora_alpha"] / pc["r"]
    with safe_open(str(out / "adapter_model.safetensors"), framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}
        keys = set(f.keys())
        assert keys == {peft_key(k) for k in w}
        for i in (2, 3):
            for proj, out_dim in (("q_proj", DIM), ("v_proj", KV)):
                mod = f"model.layers.{i}.self_attn.{proj}"
                A = f.get_tensor(f"base_model.model.{mod}.lora_A.weight")
                B = f.get_tensor(f"base_model.model.{mod}.lora_B.weight")
                assert A.shape == (RANK, DIM) and B.shape == (out_dim, RANK)
                # mlx-lm's fused delta (tuner/lora.py LoRALinear.fuse).
                a, b = np.array(w[mod + ".lora_a"]), np.array(w[mod + ".lora_b"])
                want = (SCALE * b.T) @ a.T
                np.testing.assert_allclose(B @ A * scaling, want, rtol=1e-5, atol=1e-6)
                # And the forward pass: PEFT's x A^T B^T scaling = mlx's.
                x = np.arange(DIM, dtype=np.float32) / DIM
                np.testing.assert_allclose(x @ A.T @ B.T * scaling, SCALE * (x @ a) @ b, rtol=1e-5, atol=1e-6)
