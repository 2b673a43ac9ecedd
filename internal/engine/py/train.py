"""vulntune LoRA trainer.

`python -I train.py` reads one JSON request on stdin and writes events to
stdout, one JSON object per line, like worker.py:

  {"event": "progress"|"metric"|"artifact"|"log"|"result"|"error", ...}

It trains LoRA adapters with mlx-lm's building blocks but its own loop, so
that vulntune controls what mlx_lm.tuner.train does not offer:
  * loss on EVERY assistant turn (mlx-lm's --mask-prompt keeps only the last
    message), found by rendering the chat template on growing prefixes;
  * checkpoints holding adapters, optimizer state, RNG key and counters, so a
    resumed run continues exactly where it stopped;
  * a deterministic data order that depends only on (seed, step);
  * warmup + cosine learning-rate schedule, early stopping on validation
    loss, and SIGTERM/SIGINT handled between steps with a checkpoint.
At the end the best adapter is fused into full-precision weights in
request["output_dir"], which then loads in mlx-lm and transformers.
"""

import json
import math
import os
import shutil
import signal
import sys
import time

_stop_signal = None


class TrainError(WorkerError):
    """A training error with a kind vulntune can act on."""


def _on_signal(signum, _frame):
    global _stop_signal
    _stop_signal = signal.Signals(signum).name


def _version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def _blas():
    """Which BLAS libmlx got: a preloaded OpenBLAS or the wheel's own."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            maps = f.read()
    except OSError:
        return ""
    if "openblas" in maps:
        return "openblas"
    return "bundled" if "libblas" in maps else ""


# ---------------------------------------------------------------- data


def _read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line)["messages"])
    return rows


def _encode(tokenizer, messages, max_len):
    """Token ids and a 0/1 mask that is 1 exactly on the tokens of every
    assistant turn: its content and the end-of-turn token the template puts
    after it (ChatML <|im_end|>, OLMo-2 <|endoftext|>), not the role header
    and not whitespace after the end-of-turn token.

    Spans are found on the rendered text, then mapped to tokens by offsets,
    so BPE merges across a span boundary cannot shift them."""
    hf = tokenizer._tokenizer
    full = hf.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = hf.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        upto = hf.apply_chat_template(messages[: i + 1], tokenize=False)
        if not full.startswith(upto) or not upto.startswith(before):
            raise TrainError(
                "ChatTemplate",
                "the chat template does not render a conversation as the concatenation of its "
                "turns, so assistant tokens cannot be located",
            )
        spans.append((len(before), len(before) + len(upto[len(before):].rstrip())))
    enc = hf(full, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    bos = hf.bos_token_id
    if bos is not None and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
        raise TrainError("ChatTemplate", "the rendered conversation starts with a doubled BOS token")
    mask = [0] * len(ids)
    for t, (a, _b) in enumerate(offsets):
        for s, e in spans:
            if s <= a < e:
                mask[t] = 1
                break
    full_len, full_sup = len(ids), sum(mask)
    return ids[:max_len], mask[:max_len], full_len, full_sup


def _tokenize_split(tokenizer, rows, max_len, split):
    data, truncated, lost, empty = [], 0, 0, 0
    for ids, mask, full_len, full_sup in (_encode(tokenizer, r, max_len) for r in rows):
        if full_len > max_len:
            truncated += 1
            lost += full_sup - sum(mask)
        if sum(mask[1:]) == 0:
            empty += 1
        data.append((ids, mask))
    lens = sorted(len(d[0]) for d in data)
    emit(
        "metric", kind="dataset", split=split, examples=len(data), truncated=truncated,
        supervised_tokens_lost=lost, no_supervised_tokens=empty,
        tokens=sum(lens), supervised_tokens=sum(sum(m) for _, m in data),
        max_length=lens[-1] if lens else 0, median_length=lens[len(lens) // 2] if lens else 0,
    )
    return data, truncated


def _mask_check(tokenizer, rows, data):
    """Decode the supervised tokens of the first example, so a test (and a
    reader of the log) can see the mask covers exactly the assistant text."""
    ids, mask = data[0]
    sup = [t for t, m in zip(ids, mask) if m]
    emit(
        "metric", kind="mask_check",
        supervised_text=tokenizer._tokenizer.decode(sup, skip_special_tokens=False),
        assistant_text=[m["content"] for m in rows[0] if m["role"] == "assistant"],
        eos_token=tokenizer._tokenizer.eos_token or "",
    )


class Order:
    """Which examples step s trains on, as a pure function of (seed, step).

    The training split is drawn as a stream of seeded per-epoch
    permutations; `examples` positions of it are used. Each window of
    WINDOW batches is sorted by length (less padding) and its batches are
    then shuffled, again seeded, so any step's batch can be recomputed on
    resume without replaying the ones before it."""

    WINDOW = 8

    def __init__(self, lengths, batch_size, examples, seed):
        import numpy as np

        self.np = np
        self.lengths = lengths
        self.n = len(lengths)
        self.b = batch_size
        self.examples = examples
        self.seed = seed
        self._perm = {}

    def _at(self, pos):
        epoch = pos // self.n
        if epoch not in self._perm:
            rng = self.np.random.default_rng([self.seed, epoch])
            self._perm[epoch] = rng.permutation(self.n)
        return int(self._perm[epoch][pos % self.n])

    def batch(self, step):
        w = (step - 1) // self.WINDOW
        lo = w * self.WINDOW * self.b
        hi = min(lo + self.WINDOW * self.b, self.examples)
        idx = sorted((self._at(p) for p in range(lo, hi)), key=lambda i: (self.lengths[i], i))
        chunks = [idx[i : i + self.b] for i in range(0, len(idx), self.b)]
        order = self.np.random.default_rng([self.seed, 1 << 20, w]).permutation(len(chunks))
        return chunks[int(order[(step - 1) % self.WINDOW])]


# Gathered losses pad their position count up to a multiple of this, so a
# compiled step sees few distinct shapes (each new one costs a recompile).
GATHER_BUCKET = 256


def _pad(data, idx, max_len, gather=False):
    """One batch as loss arguments, and its real token count: (inputs,
    targets, mask) for _loss, or with gather (inputs, positions, targets,
    weights) for _loss_at, the supervised positions flattened and padded
    with weight 0 to a multiple of GATHER_BUCKET."""
    import mlx.core as mx
    import numpy as np

    longest = max(len(data[i][0]) for i in idx)
    width = min(1 + 32 * ((longest - 1 + 31) // 32), max_len)
    toks = np.zeros((len(idx), width), np.int32)
    mask = np.zeros((len(idx), width), np.float32)
    n_tokens = 0
    for r, i in enumerate(idx):
        ids, m = data[i]
        toks[r, : len(ids)] = ids
        mask[r, : len(m)] = m
        n_tokens += len(ids)
    inputs, targets, weights = toks[:, :-1], toks[:, 1:], mask[:, 1:]
    if not gather:
        return (mx.array(inputs), mx.array(targets), mx.array(weights)), n_tokens
    pos = np.flatnonzero(weights)
    size = GATHER_BUCKET * max(1, -(-len(pos) // GATHER_BUCKET))
    sel = np.zeros(size, np.int32)
    sel[: len(pos)] = pos
    w = np.zeros(size, np.float32)
    w[: len(pos)] = weights.reshape(-1)[pos]
    return (mx.array(inputs), mx.array(sel), mx.array(targets.reshape(-1)[sel]), mx.array(w)), n_tokens


def _loss(model, inputs, targets, mask):
    import mlx.core as mx
    import mlx.nn as nn

    logits = model(inputs)
    # MLX's own cross-entropy even with cpumath's kernels in place: the fast
    # one's temporaries raised a step's peak memory from 12.4 to 18.0 GB for
    # 4 s a step (bench/RESULTS.md).
    ce = nn.losses.cross_entropy(logits, targets) * mask
    ntoks = mask.sum()
    return ce.astype(mx.float32).sum() / mx.maximum(ntoks, 1), ntoks


def _loss_at(head):
    """_loss computing logits only at the gathered positions (see _pad):
    the same value, without the output layer and the vocabulary-wide
    cross-entropy at prompt and padding positions."""
    import mlx.core as mx
    import mlx.nn as nn

    def loss(model, inputs, sel, targets, weights):
        hidden = model.model(inputs)
        hidden = hidden.reshape(-1, hidden.shape[-1])[sel]
        ce = nn.losses.cross_entropy(head(hidden), targets) * weights
        ntoks = weights.sum()
        return ce.astype(mx.float32).sum() / mx.maximum(ntoks, 1), ntoks

    return loss


def _evaluate(model, loss_fn, gather, data, batch_size, max_len, max_batches):
    """Token-weighted mean loss over the validation split, batched in
    length order; max_batches > 0 bounds it to the shortest examples."""
    import mlx.core as mx

    model.eval()
    order = sorted(range(len(data)), key=lambda i: (len(data[i][0]), i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if max_batches > 0:
        batches = batches[:max_batches]
    total, ntok = mx.array(0.0), mx.array(0.0)
    for idx in batches:
        if _stop_signal:
            break
        args, _ = _pad(data, idx, max_len, gather)
        loss, n = loss_fn(model, *args)
        total, ntok = total + loss * n, ntok + n
        mx.eval(total, ntok)
    model.train()
    return (total / mx.maximum(ntok, 1)).item(), int(ntok.item())


# ---------------------------------------------------------------- model


def _lora_keys(model, targets):
    """Map PEFT-style names (q_proj, gate_proj) or full paths
    (self_attn.q_proj) to the module paths inside one transformer block."""
    import mlx.nn as nn

    linear = [k for k, m in model.layers[0].named_modules() if isinstance(m, (nn.Linear, nn.QuantizedLinear))]
    keys = []
    for t in targets:
        hit = [k for k in linear if k == t or k.rsplit(".", 1)[-1] == t]
        if not hit:
            raise TrainError(
                "BadRequest",
                f"LoRA target {t!r} matches no linear layer of this model; it has: {', '.join(sorted(linear))}",
            )
        keys.extend(h for h in hit if h not in keys)
    return sorted(keys)


def _schedule(lr, warmup, total, min_ratio):
    """Linear warmup to lr, then cosine decay to lr*min_ratio at the last
    step. The optimizer counts updates from 0, so update k uses value(k)."""
    import mlx.optimizers as optim

    decay = optim.cosine_decay(lr, max(total - warmup, 1), lr * min_ratio)
    if warmup <= 0:
        return decay
    ramp = optim.linear_schedule(lr / (warmup + 1), lr, warmup)
    return optim.join_schedules([ramp, decay], [warmup])


def _set_path(tree, path, value):
    node = tree
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    node[int(last) if isinstance(node, list) else last] = value


def _adapter_weights(model):
    from mlx.utils import tree_flatten

    return dict(tree_flatten(model.trainable_parameters()))


def _save_atomic_dir(tmp, final):
    if os.path.exists(final):
        shutil.rmtree(final)
    os.replace(tmp, final)


def _save_checkpoint(req, model, optimizer, counters, keep=3):
    import mlx.core as mx
    from mlx.utils import tree_flatten

    root = os.path.join(req["work_dir"], "checkpoints")
    os.makedirs(root, exist_ok=True)
    step = counters["step"]
    final = os.path.join(root, f"{step:07d}")
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    mx.save_safetensors(os.path.join(tmp, "adapters.safetensors"), _adapter_weights(model))
    mx.save_safetensors(os.path.join(tmp, "optimizer.safetensors"), dict(tree_flatten(optimizer.state)))
    state = dict(counters)
    state["fingerprint"] = req["fingerprint"]
    state["learning_rate"] = float(optimizer.learning_rate.item())
    with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    _save_atomic_dir(tmp, final)
    done = sorted(d for d in os.listdir(root) if d.isdigit())
    for old in done[:-keep]:
        shutil.rmtree(os.path.join(root, old), ignore_errors=True)
    emit("artifact", kind="checkpoint", step=step, path=final)


def _latest_checkpoint(work_dir):
    root = os.path.join(work_dir, "checkpoints")
    if not os.path.isdir(root):
        return None
    done = sorted(d for d in os.listdir(root) if d.isdigit() and os.path.exists(os.path.join(root, d, "state.json")))
    return os.path.join(root, done[-1]) if done else None


def _restore(req, model, optimizer):
    import mlx.core as mx

    ckpt = _latest_checkpoint(req["work_dir"])
    if ckpt is None:
        raise TrainError("NoCheckpoint", f"nothing to resume: no checkpoint under {req['work_dir']}")
    with open(os.path.join(ckpt, "state.json"), encoding="utf-8") as f:
        state = json.load(f)
    if state.get("fingerprint") != req["fingerprint"]:
        raise TrainError(
            "ResumeMismatch",
            "the checkpoint was made with other settings or data; resume needs the same dataset, "
            "base model and hyperparameters (or start a new run without --resume)",
        )
    model.load_weights(os.path.join(ckpt, "adapters.safetensors"), strict=False)
    optimizer.init(model.trainable_parameters())
    for k, v in mx.load(os.path.join(ckpt, "optimizer.safetensors")).items():
        _set_path(optimizer.state, k, v)
    emit("progress", stage="resume", step=state["step"], message=f"resuming from step {state['step']}")
    return state


def _write_adapter(dirpath, weights, adapter_config):
    import mlx.core as mx

    os.makedirs(dirpath, exist_ok=True)
    mx.save_safetensors(os.path.join(dirpath, "adapters.safetensors"), weights)
    with open(os.path.join(dirpath, "adapter_config.json"), "w", encoding="utf-8") as f:
        json.dump(adapter_config, f, indent=2, sort_keys=True)


TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
    "chat_template.jinja", "chat_template.json", "tokenizer.model", "vocab.json", "merges.txt",
    "added_tokens.json",
)


def _fuse(req, model, config, dtype_name, check_batch):
    """Fold the adapters into the weights (dequantized), save a Hugging Face
    layout model, and check that the fused model's loss on one validation
    batch matches the adapted model's."""
    import mlx.core as mx
    from mlx.utils import tree_unflatten
    from mlx_lm.utils import dequantize_model, load, save_config, save_model

    emit("progress", stage="fuse", message="fusing adapters into the base weights")
    before = None
    if check_batch is not None:
        model.eval()
        before = _loss(model, *check_batch)[0].item()
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
    save_model(out, model, donate_model=False)
    save_config(config, config_path=os.path.join(out, "config.json"))
    for name in TOKENIZER_FILES:
        src = os.path.join(req["model"], name)
        if os.path.isfile(src):
            shutil.copyfile(src, os.path.join(out, name))
    result = {"fused_loss": None, "adapted_loss": before}
    if check_batch is not None:
        reloaded, _ = load(out)
        result["fused_loss"] = _loss(reloaded, *check_batch)[0].item()
    emit("artifact", kind="model", path=out, **result)
    del mx
    return result


# ---------------------------------------------------------------- training


def train(req):
    from functools import partial

    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.trainer import grad_checkpoint
    from mlx_lm.tuner.utils import linear_to_lora_layers
    from mlx_lm.utils import load

    t_start = time.perf_counter()
    backend = mlx_backend()
    dtype_name = req.get("dtype") or "auto"
    if dtype_name == "auto":
        dtype_name = "float32" if backend == "cpu" else "bfloat16"
    if dtype_name not in ("float32", "bfloat16", "float16"):
        raise TrainError("BadRequest", f"unknown dtype {dtype_name!r} (want auto, float32, bfloat16 or float16)")

    kernels = cpumath_install(backend)
    emit("progress", stage="load", message="loading base model")
    model, tokenizer, config = load(req["model"], return_config=True)
    if not tokenizer.has_chat_template:
        raise TrainError("NoChatTemplate", "the base model has no chat template; vulntune will not train on raw text")
    if "quantization" in config and backend == "cpu":
        raise TrainError("Quantized", "MLX's CPU backend cannot train on a quantized base; use a full-precision base")
    model.set_dtype(getattr(mx, dtype_name))

    max_len = int(req["max_seq_length"])
    batch = int(req["batch_size"])
    emit("progress", stage="tokenize", message="tokenizing with the chat template")
    train_rows = _read_jsonl(os.path.join(req["data_dir"], "train.jsonl"))
    valid_rows = _read_jsonl(os.path.join(req["data_dir"], "valid.jsonl"))
    train_set, trunc_train = _tokenize_split(tokenizer, train_rows, max_len, "train")
    valid_set, trunc_valid = _tokenize_split(tokenizer, valid_rows, max_len, "valid")
    if not any(sum(m[1:]) for _, m in train_set):
        raise TrainError(
            "NoSupervisedTokens",
            f"no training example has assistant tokens within max_seq_length {max_len}; raise it",
        )
    _mask_check(tokenizer, train_rows, train_set)
    # Before the adapters go in: their dropout would make the check noisy.
    head = lm_head_split(model, train_set[0][0])
    gather = head is not None
    loss_fn = _loss_at(head) if gather else _loss

    total = int(req["steps"])
    examples = int(req["examples"])
    if total != math.ceil(examples / batch):
        raise TrainError("BadRequest", f"steps {total} != ceil(examples {examples} / batch {batch})")
    seed = int(req.get("seed", 0))
    mx.random.seed(seed)
    model.freeze()
    n_layers = len(model.layers)
    num_layers = int(req["lora"].get("num_layers") or 0)
    if num_layers <= 0 or num_layers > n_layers:
        num_layers = n_layers
    keys = _lora_keys(model, req["lora"]["targets"])
    rank = int(req["lora"]["rank"])
    lora_params = {
        "rank": rank, "scale": float(req["lora"]["alpha"]) / rank,
        "dropout": float(req["lora"]["dropout"]), "keys": keys,
    }
    linear_to_lora_layers(model, num_layers, lora_params)
    trainable = sum(v.size for _, v in tree_flatten(model.trainable_parameters()))
    params = sum(v.size for _, v in tree_flatten(model.parameters()))
    adapter_config = {
        "fine_tune_type": "lora", "num_layers": num_layers, "lora_parameters": lora_params,
        "lora_alpha": float(req["lora"]["alpha"]), "target_modules": list(req["lora"]["targets"]),
        "base_model": req.get("base_model_name", ""),
    }
    if req.get("grad_checkpoint"):
        grad_checkpoint(model.layers[0])

    lr = float(req["learning_rate"])
    schedule = _schedule(lr, int(req.get("warmup_steps", 0)), total, float(req.get("min_lr_ratio", 0.1)))
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=float(req.get("weight_decay", 0.01)))

    counters = {
        "step": 0, "tokens": 0, "supervised_tokens": 0, "train_seconds": 0.0,
        "best_val_loss": None, "best_step": 0, "evals_since_best": 0,
        "initial_val_loss": None, "last_val_loss": None, "first_train_loss": None,
        "last_train_loss": None, "stopped_early": False,
    }
    if req.get("resume"):
        counters.update(_restore(req, model, optimizer))
        counters.pop("fingerprint", None)
        counters.pop("learning_rate", None)
    else:
        optimizer.init(model.trainable_parameters())
        shutil.rmtree(os.path.join(req["work_dir"], "checkpoints"), ignore_errors=True)
        shutil.rmtree(os.path.join(req["work_dir"], "best"), ignore_errors=True)

    loss_and_grad = nn.value_and_grad(model, loss_fn)
    state = [model.state, optimizer.state, mx.random.state]

    def step_fn(*args):
        (loss, ntoks), grad = loss_and_grad(model, *args)
        optimizer.update(model, grad)
        return loss, ntoks

    if req.get("compile", True):
        step_fn = partial(mx.compile, inputs=state, outputs=state)(step_fn)

    eval_steps, save_steps = int(req["eval_steps"]), int(req["save_steps"])
    # Besides every save_steps, a checkpoint at least this often: a stop
    # that cannot wait for the step (vulntune is killed 8 s after SIGTERM)
    # loses no more than this and the step.
    checkpoint_seconds, last_save = float(req["checkpoint_seconds"]), time.monotonic()
    patience = int(req.get("patience", 0))
    eval_batches = int(req.get("eval_batches", 0))
    order = Order([len(d[0]) for d in train_set], batch, examples, seed)
    best_dir = os.path.join(req["work_dir"], "best")

    def run_eval():
        tic = time.perf_counter()
        val, ntok = _evaluate(model, loss_fn, gather, valid_set, batch, max_len, eval_batches)
        step = counters["step"]
        counters["last_val_loss"] = val
        if counters["initial_val_loss"] is None:
            counters["initial_val_loss"] = val
        improved = counters["best_val_loss"] is None or val < counters["best_val_loss"]
        if improved:
            counters.update(best_val_loss=val, best_step=step, evals_since_best=0)
            if step > 0:
                tmp = best_dir + ".tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                _write_adapter(tmp, _adapter_weights(model), adapter_config)
                _save_atomic_dir(tmp, best_dir)
        elif step > 0:
            counters["evals_since_best"] += 1
        emit("metric", kind="eval", step=step, total=total, val_loss=val, val_tokens=ntok,
             best_val_loss=counters["best_val_loss"], best_step=counters["best_step"],
             seconds=time.perf_counter() - tic)

    emit("progress", stage="train", message=f"{total} steps", step=counters["step"], total=total,
         trainable_parameters=trainable, parameters=params, lora_keys=keys, num_layers=num_layers)
    if counters["step"] == 0:
        run_eval()
    mx.reset_peak_memory()
    while counters["step"] < total and not _stop_signal:
        step = counters["step"] + 1
        tic = time.perf_counter()
        lr_now = float(schedule(optimizer.step).item()) if callable(schedule) else lr
        args, n_tok = _pad(train_set, order.batch(step), max_len, gather)
        # Dropout noise is a function of (seed, step) too, so a resumed run
        # draws what the uninterrupted one would have (MLX's RNG state can
        # be read but not restored).
        mx.random.seed((seed * 1_000_003 + step) % (1 << 63))
        loss, ntoks = step_fn(*args)
        mx.eval(state, loss, ntoks)
        dt = time.perf_counter() - tic
        loss_v, sup = float(loss.item()), int(ntoks.item())
        counters.update(step=step, last_train_loss=loss_v)
        counters["tokens"] += n_tok
        counters["supervised_tokens"] += sup
        counters["train_seconds"] += dt
        if counters["first_train_loss"] is None:
            counters["first_train_loss"] = loss_v
        emit("metric", kind="train", step=step, total=total, loss=loss_v, lr=lr_now,
             tokens=n_tok, supervised_tokens=sup, seconds=dt,
             tokens_per_second=n_tok / dt, supervised_tokens_per_second=sup / dt,
             peak_memory=int(mx.get_peak_memory()))
        if not math.isfinite(loss_v):
            raise TrainError("Diverged", f"training loss is {loss_v} at step {step}; lower the learning rate")
        if step % eval_steps == 0 or step == total:
            run_eval()
            if patience > 0 and counters["evals_since_best"] >= patience and step < total:
                counters["stopped_early"] = True
                emit("log", message=f"early stop at step {step}: no better validation loss in {patience} evaluations")
        if step % save_steps == 0 or _stop_signal or counters["stopped_early"] or step == total \
                or time.monotonic() - last_save >= checkpoint_seconds:
            _save_checkpoint(req, model, optimizer, counters)
            last_save = time.monotonic()
        if counters["stopped_early"]:
            break
    if _stop_signal:
        # The loop saved a checkpoint after the step the signal interrupted.
        raise TrainError("Interrupted", f"stopped by {_stop_signal} after step {counters['step']}; checkpoint saved, resume with --resume")

    final_weights = _adapter_weights(model)
    used = "last"
    if counters["best_step"] > 0 and os.path.exists(os.path.join(best_dir, "adapters.safetensors")) \
            and counters["best_step"] != counters["step"]:
        model.load_weights(os.path.join(best_dir, "adapters.safetensors"), strict=False)
        final_weights = _adapter_weights(model)
        used = "best"
    _write_adapter(os.path.join(req["output_dir"], "adapters"), final_weights, adapter_config)
    check = None
    if valid_set:
        first = sorted(range(len(valid_set)), key=lambda i: len(valid_set[i][0]))[:batch]
        check = _pad(valid_set, first, max_len)[0]
    fuse = _fuse(req, model, config, dtype_name, check) if req.get("fuse", True) else {}
    secs = counters["train_seconds"]
    return {
        "steps": counters["step"], "total_steps": total, "stopped_early": counters["stopped_early"],
        "adapter": used, "best_step": counters["best_step"], "best_val_loss": counters["best_val_loss"],
        "initial_val_loss": counters["initial_val_loss"], "final_val_loss": counters["last_val_loss"],
        "first_train_loss": counters["first_train_loss"], "last_train_loss": counters["last_train_loss"],
        "tokens": counters["tokens"], "supervised_tokens": counters["supervised_tokens"],
        "train_seconds": secs, "tokens_per_second": counters["tokens"] / secs if secs else 0.0,
        "supervised_tokens_per_second": counters["supervised_tokens"] / secs if secs else 0.0,
        "peak_memory": int(mx.get_peak_memory()), "dtype": dtype_name, "backend": backend, "blas": _blas(),
        "cpu_kernels": kernels, "logits_at": "supervised" if gather else "all",
        "mlx": _version("mlx"), "mlx_lm": _version("mlx-lm"), "transformers": _version("transformers"),
        "truncated_train": trunc_train, "truncated_valid": trunc_valid,
        "train_examples": len(train_set), "valid_examples": len(valid_set),
        "trainable_parameters": trainable, "parameters": params, "num_layers": num_layers,
        "lora_keys": keys, "lora_scale": lora_params["scale"],
        "fused_loss": fuse.get("fused_loss"), "adapted_loss": fuse.get("adapted_loss"),
        "wall_seconds": time.perf_counter() - t_start,
    }


def main():
    open_events()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return run(train, interrupted_kind="Interrupted")


if __name__ == "__main__":
    finish(main())
