"""Builds a tiny random model directory for engine tests.

usage: make_tiny_model.py llama|olmo2 DIR

llama gets a ChatML chat template; olmo2 gets none, like the OLMo-2 base
models, so tests can check that generation refuses until vulntune sets one.
Runs in the engine venv (mlx, mlx-lm, tokenizers).
"""
import json
import os
import sys

import mlx.core as mx
from mlx.utils import tree_flatten
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

kind, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
mx.random.seed(7)

specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
corpus = [
    "What is SQL injection? It lets an attacker change a database query.",
    "Upgrade the package to the fixed version and rerun the scanner.",
    "user assistant system security finding remediation",
] * 20
tok.train_from_iterator(
    corpus,
    trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    ),
)
tok.save(os.path.join(out, "tokenizer.json"))
vocab = tok.get_vocab_size()

tc = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "<|endoftext|>",
    "eos_token": "<|im_end|>" if kind == "llama" else "<|endoftext|>",
    "pad_token": "<|endoftext|>",
    "model_max_length": 512,
}
if kind == "llama":
    tc["chat_template"] = (
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
    json.dump(tc, f, indent=2)

config = {
    "model_type": kind,
    "architectures": ["LlamaForCausalLM" if kind == "llama" else "Olmo2ForCausalLM"],
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 2 if kind == "llama" else 4,
    "rms_norm_eps": 1e-6,
    "vocab_size": vocab,
    "max_position_embeddings": 512,
    "rope_theta": 10000.0,
    "tie_word_embeddings": kind == "llama",
    "torch_dtype": "float32",
    "eos_token_id": tok.token_to_id(tc["eos_token"]),
    "bos_token_id": tok.token_to_id("<|endoftext|>"),
}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)

if kind == "llama":
    from mlx_lm.models.llama import Model, ModelArgs
else:
    from mlx_lm.models.olmo2 import Model, ModelArgs
model = Model(ModelArgs.from_dict(config))
mx.save_safetensors(os.path.join(out, "model.safetensors"), dict(tree_flatten(model.parameters())))
print(json.dumps({"event": "result", "path": out, "vocab": vocab}), flush=True)
# As protocol.finish: exit without MLX 0.32's interpreter teardown, which
# can hang or crash intermittently on Linux.
os._exit(0)
