"""vulntune's LoRA trainer: the train op.

`python -I run.py vulntune_engine.train` reads one JSON request on stdin
and speaks the JSON-lines protocol (protocol.py). It loads the base model,
tokenizes the splits with a mask on every assistant turn (data.py), puts
LoRA adapters on the requested layers, schedules the learning rate (linear
warmup, then cosine decay), runs trainer.train_loop, and at the end fuses
the best adapter into full-precision weights in request["output_dir"],
which then loads in mlx-lm and transformers. Every setting comes from the
request: Go's options hold the defaults.
"""

import math
import os
import shutil
import time

from .chat import require_chat_template
from .cpumath import cpumath_install, kernels_in_use
from .data import loss_at, mask_check, masked_loss, pad, read_jsonl, tokenize_split
from .lmhead import lm_head_split
from .peft import write_peft
from .protocol import Request, WorkerError, emit, finish, install_stop_signals, open_events, run
from .ranks import Ranks
from .runtime import blas_kind, mlx_backend, version
from .trainer import TrainArgs, adapter_weights, new_counters, restore_checkpoint, train_loop, write_adapter


def resolve_dtype(name, backend):
    """The training dtype: "auto" is float32 on the CPU, whose bf16 matmuls
    take a generic, 6.5x slower path, and bfloat16 elsewhere."""
    if name == "auto":
        name = "float32" if backend == "cpu" else "bfloat16"
    if name not in ("float32", "bfloat16", "float16"):
        raise WorkerError("BadRequest", f"unknown dtype {name!r} (want auto, float32, bfloat16 or float16)")
    return name


def load_base(req, backend, dtype_name):
    """The base model in dtype_name, its tokenizer (with a chat template, by
    the one policy of chat.py) and its config."""
    import mlx.core as mx
    from mlx_lm.utils import load

    emit("progress", stage="load", message="loading base model")
    model, tokenizer, config = load(req["model"], return_config=True)
    require_chat_template(req["model"], tokenizer)
    if "quantization" in config and backend == "cpu":
        raise WorkerError("Quantized", "MLX's CPU backend cannot train on a quantized base; use a full-precision base")
    model.set_dtype(getattr(mx, dtype_name))
    bits = int(req["quantize_bits"])
    if bits:
        if backend == "cpu":
            raise WorkerError(
                "Quantized",
                f"fine_tuning.mlx.quantization q{bits} asks for QLoRA, which MLX's CPU backend cannot train "
                "(Metal or CUDA can); set it to none to train the full-precision base",
            )
        from mlx_lm.utils import quantize_model

        emit("progress", stage="load", message=f"quantizing the base to {bits} bits (QLoRA)")
        model, config = quantize_model(model, config, 64, bits)
    return model, tokenizer, config


def lora_keys(model, targets):
    """Map PEFT-style names (q_proj, gate_proj) or full paths
    (self_attn.q_proj) to the module paths inside one transformer block."""
    import mlx.nn as nn

    linear = [k for k, m in model.layers[0].named_modules() if isinstance(m, (nn.Linear, nn.QuantizedLinear))]
    keys = []
    for t in targets:
        hit = [k for k in linear if k == t or k.rsplit(".", 1)[-1] == t]
        if not hit:
            raise WorkerError(
                "BadRequest",
                f"LoRA target {t!r} matches no linear layer of this model; it has: {', '.join(sorted(linear))}",
            )
        keys.extend(h for h in hit if h not in keys)
    return sorted(keys)


def make_schedule(lr, warmup, total, min_ratio):
    """Linear warmup to lr, then cosine decay to lr*min_ratio at the last
    step. The optimizer counts updates from 0, so update k uses value(k)."""
    import mlx.optimizers as optim

    decay = optim.cosine_decay(lr, max(total - warmup, 1), lr * min_ratio)
    if warmup <= 0:
        return decay
    ramp = optim.linear_schedule(lr / (warmup + 1), lr, warmup)
    return optim.join_schedules([ramp, decay], [warmup])


def add_lora(model, spec, base_model_name):
    """LoRA on the spec's target layers of the last num_layers blocks (all
    when 0). Returns the adapted keys, the layer count and the adapter
    config mlx-lm reads."""
    from mlx_lm.tuner.utils import linear_to_lora_layers

    spec = Request(spec)
    n_layers = len(model.layers)
    num_layers = int(spec["num_layers"])
    if num_layers <= 0 or num_layers > n_layers:
        num_layers = n_layers
    keys = lora_keys(model, spec["targets"])
    rank = int(spec["rank"])
    params = {"rank": rank, "scale": float(spec["alpha"]) / rank, "dropout": float(spec["dropout"]), "keys": keys}
    linear_to_lora_layers(model, num_layers, params)
    adapter_config = {
        "fine_tune_type": "lora", "num_layers": num_layers, "lora_parameters": params,
        "lora_alpha": float(spec["alpha"]), "target_modules": list(spec["targets"]),
        "base_model": base_model_name,
    }
    return keys, num_layers, adapter_config


TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
    "chat_template.jinja", "chat_template.json", "tokenizer.model", "vocab.json", "merges.txt",
    "added_tokens.json",
)


def save_weights(out, model):
    """Write the model's weights as transformers writes them: one
    model.safetensors without an index when it fits a shard, else numbered
    shards and model.safetensors.index.json; safetensors metadata
    {"format": "pt"}, which transformers' loader expects (mlx-lm writes
    "mlx", and an index even for a single file)."""
    import json

    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.utils import make_shards

    weights = dict(tree_flatten(model.parameters()))
    total = sum(v.nbytes for v in weights.values())
    shards = make_shards(weights)
    if len(shards) == 1:
        mx.save_safetensors(os.path.join(out, "model.safetensors"), shards[0], metadata={"format": "pt"})
        return
    weight_map = {}
    for i, shard in enumerate(shards):
        name = "model-{:05d}-of-{:05d}.safetensors".format(i + 1, len(shards))
        mx.save_safetensors(os.path.join(out, name), shard, metadata={"format": "pt"})
        weight_map.update({k: name for k in shard})
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)


def fuse(req, model, config, dtype_name, check_batch):
    """Fold the adapters into the weights (dequantized), save a Hugging Face
    layout model, and check that the fused model's loss on one validation
    batch matches the adapted model's."""
    import mlx.core as mx
    from mlx.utils import tree_unflatten
    from mlx_lm.utils import dequantize_model, load, save_config

    emit("progress", stage="fuse", message="fusing adapters into the base weights")
    before = None
    if check_batch is not None:
        model.eval()
        before = masked_loss(model, *check_batch)[0].item()
    fused = [(n, m.fuse(dequantize=True)) for n, m in model.named_modules() if hasattr(m, "fuse")]
    if fused:
        model.update_modules(tree_unflatten(fused))
    model = dequantize_model(model)
    config = dict(config)
    config.pop("quantization", None)
    config.pop("quantization_config", None)
    config["torch_dtype"] = dtype_name
    out = req["output_dir"]
    os.makedirs(out, exist_ok=True)
    save_weights(out, model)
    save_config(config, config_path=os.path.join(out, "config.json"))
    for name in TOKENIZER_FILES:
        src = os.path.join(req["model"], name)
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(out, name))
    result = {"fused_loss": None, "adapted_loss": before}
    if check_batch is not None:
        reloaded, _ = load(out)
        result["fused_loss"] = masked_loss(reloaded, *check_batch)[0].item()
    emit("artifact", kind="model", path=out, **result)
    del mx
    return result


def train(req):
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.trainer import grad_checkpoint

    t_start = time.perf_counter()
    args = TrainArgs.from_request(req)
    # First: a rank whose partner cannot start fails here, before minutes
    # of loading and tokenizing.
    ranks = Ranks(args.ranks)
    backend = mlx_backend()
    dtype_name = resolve_dtype(req["dtype"], backend)
    cpumath_install(backend)
    model, tokenizer, config = load_base(req, backend, dtype_name)

    max_len, batch = args.max_seq_length, args.batch_size
    emit("progress", stage="tokenize", message="tokenizing with the chat template")
    train_rows = read_jsonl(os.path.join(req["data_dir"], "train.jsonl"))
    valid_rows = read_jsonl(os.path.join(req["data_dir"], "valid.jsonl"))
    train_set, trunc_train, longest_train = tokenize_split(tokenizer, train_rows, max_len, "train")
    valid_set, trunc_valid, longest_valid = tokenize_split(tokenizer, valid_rows, max_len, "valid")
    if not any(sum(m[1:]) for _, m in train_set):
        raise WorkerError(
            "NoSupervisedTokens",
            f"no training example has assistant tokens within max_seq_length {max_len}; raise it",
        )
    mask_check(tokenizer, train_rows, train_set)
    # Before the adapters go in: their dropout would make the check noisy.
    head = lm_head_split(model, train_set[0][0])
    gather = head is not None
    loss_fn = loss_at(head) if gather else masked_loss

    total = args.steps
    if total != math.ceil(args.examples / batch):
        raise WorkerError("BadRequest", f"steps {total} != ceil(examples {args.examples} / batch {batch})")
    mx.random.seed(args.seed)
    model.freeze()
    keys, num_layers, adapter_config = add_lora(model, req["lora"], req["base_model_name"])
    trainable = sum(v.size for _, v in tree_flatten(model.trainable_parameters()))
    params = sum(v.size for _, v in tree_flatten(model.parameters()))
    if req["grad_checkpoint"]:
        grad_checkpoint(model.layers[0])

    schedule = make_schedule(float(req["learning_rate"]), int(req["warmup_steps"]), total, float(req["min_lr_ratio"]))
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=float(req["weight_decay"]))

    counters = new_counters()
    if req["resume"]:
        counters.update(restore_checkpoint(args, model, optimizer))
    else:
        optimizer.init(model.trainable_parameters())
        if ranks.leader:
            shutil.rmtree(os.path.join(args.work_dir, "checkpoints"), ignore_errors=True)
            shutil.rmtree(os.path.join(args.work_dir, "best"), ignore_errors=True)

    emit("progress", stage="train", message=f"{total} steps", step=counters["step"], total=total,
         trainable_parameters=trainable, parameters=params, lora_keys=keys, num_layers=num_layers)
    counters = train_loop(model, optimizer, loss_fn, gather, train_set, valid_set, args, counters,
                          adapter_config, schedule=schedule, ranks=ranks)
    if not ranks.leader:
        # The leader writes the adapters and the fused model; Go reads its
        # result only.
        return {"rank": ranks.rank, "steps": counters["step"], "peak_memory": int(mx.get_peak_memory())}

    final_weights = adapter_weights(model)
    used = "last"
    best_dir = os.path.join(args.work_dir, "best")
    if counters["best_step"] > 0 and os.path.exists(os.path.join(best_dir, "adapters.safetensors")) \
            and counters["best_step"] != counters["step"]:
        model.load_weights(os.path.join(best_dir, "adapters.safetensors"), strict=False)
        final_weights = adapter_weights(model)
        used = "best"
    write_adapter(os.path.join(req["output_dir"], "adapters"), final_weights, adapter_config)
    # The same adapter as PEFT reads it, for transformers users: named by
    # the base's Hub id when known, else its local name.
    write_peft(os.path.join(req["output_dir"], "adapters", "peft"), final_weights, adapter_config,
               req["base_hub_id"] or req["base_model_name"], n_layers=len(model.layers))
    check = None
    if valid_set:
        first = sorted(range(len(valid_set)), key=lambda i: len(valid_set[i][0]))[:batch]
        check = pad(valid_set, first, max_len)[0]
    fused = fuse(req, model, config, dtype_name, check) if req["fuse"] else {}
    secs = counters["train_seconds"]
    return {
        "steps": counters["step"], "total_steps": total, "stopped_early": counters["stopped_early"],
        "adapter": used, "best_step": counters["best_step"], "best_val_loss": counters["best_val_loss"],
        "initial_val_loss": counters["initial_val_loss"], "final_val_loss": counters["last_val_loss"],
        "first_train_loss": counters["first_train_loss"], "last_train_loss": counters["last_train_loss"],
        "tokens": counters["tokens"], "supervised_tokens": counters["supervised_tokens"],
        "train_seconds": secs, "tokens_per_second": counters["tokens"] / secs if secs else 0.0,
        "supervised_tokens_per_second": counters["supervised_tokens"] / secs if secs else 0.0,
        "peak_memory": int(mx.get_peak_memory()), "dtype": dtype_name, "backend": backend, "blas": blas_kind(),
        "cpu_kernels": kernels_in_use(), "logits_at": "supervised" if gather else "all",
        "mlx": version("mlx"), "mlx_lm": version("mlx-lm"), "transformers": version("transformers"),
        "truncated_train": trunc_train, "truncated_valid": trunc_valid,
        "longest_train": longest_train, "longest_valid": longest_valid,
        "train_examples": len(train_set), "valid_examples": len(valid_set),
        "trainable_parameters": trainable, "parameters": params, "num_layers": num_layers,
        "lora_keys": keys, "lora_scale": adapter_config["lora_parameters"]["scale"],
        "fused_loss": fused.get("fused_loss"), "adapted_loss": fused.get("adapted_loss"),
        "wall_seconds": time.perf_counter() - t_start, "ranks": ranks.size,
    }


def main():
    open_events()
    install_stop_signals()
    return run(train, interrupted_kind="Interrupted")


if __name__ == "__main__":
    finish(main())
