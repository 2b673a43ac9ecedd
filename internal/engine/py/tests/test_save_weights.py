"""The fused model's weights as transformers expects them: one file with no
index when it fits, metadata format "pt", every parameter kept."""

import os

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")
safetensors = pytest.importorskip("safetensors")

from vulntune_engine.train import save_weights  # noqa: E402


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(32, 8)
        self.proj = nn.Linear(8, 8)


def test_single_file_no_index_format_pt(tmp_path):
    model = Tiny()
    save_weights(str(tmp_path), model)
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model.safetensors"), framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}
        keys = sorted(f.keys())
        assert keys == ["embed.weight", "proj.bias", "proj.weight"]
        np.testing.assert_array_equal(f.get_tensor("proj.weight"), np.array(model.proj.weight))
