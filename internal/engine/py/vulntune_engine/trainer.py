"""The LoRA training loop, after mlx-lm's tuner/trainer.py: a loop that
takes an arguments object and a callback, with what vulntune needs beyond
it: the loss on every assistant turn (data.py's masks), checkpoints that
hold adapters, optimizer state and counters so a resumed run continues
exactly where it stopped, a data order and dropout noise that depend only
on (seed, step), early stopping on validation loss, and a stop between
steps when a signal asks for one."""

import json
import math
import os
import shutil
import time
from dataclasses import dataclass

from .data import Order, pad, validation_loss
from .protocol import WorkerError, emit
from .ranks import Ranks, supervised


@dataclass
class TrainArgs:
    """Settings of the loop. Every one comes from Go's request."""

    steps: int
    examples: int  # training rows drawn in all: steps = ceil(examples / batch_size)
    batch_size: int
    max_seq_length: int
    eval_steps: int
    eval_batches: int  # 0: the whole validation split
    save_steps: int
    checkpoint_seconds: float  # also checkpoint when this long passed since the last one
    patience: int  # evaluations without improvement before an early stop; 0: off
    seed: int
    work_dir: str  # checkpoints/, best/
    fingerprint: str  # settings + data: resume refuses a checkpoint made with others
    compile: bool
    ranks: int  # processes training together (ranks.py); 1: this one alone

    @classmethod
    def from_request(cls, req):
        return cls(
            steps=int(req["steps"]), examples=int(req["examples"]), batch_size=int(req["batch_size"]),
            max_seq_length=int(req["max_seq_length"]), eval_steps=int(req["eval_steps"]),
            eval_batches=int(req["eval_batches"]), save_steps=int(req["save_steps"]),
            checkpoint_seconds=float(req["checkpoint_seconds"]), patience=int(req["patience"]),
            seed=int(req["seed"]), work_dir=req["work_dir"], fingerprint=req["fingerprint"],
            compile=bool(req["compile"]), ranks=int(req["ranks"]),
        )


def new_counters():
    """The loop's state that a checkpoint keeps besides the weights."""
    return {
        "step": 0, "tokens": 0, "supervised_tokens": 0, "train_seconds": 0.0,
        "best_val_loss": None, "best_step": 0, "evals_since_best": 0,
        "initial_val_loss": None, "last_val_loss": None, "first_train_loss": None,
        "last_train_loss": None, "stopped_early": False,
    }


class Silent:
    """The callback of a rank that is not the leader: rank 0 reports."""

    def on_train(self, **m):
        pass

    def on_eval(self, **m):
        pass


class Callback:
    """What the loop reports, as mlx-lm's TrainingCallback: after each
    optimizer step and each validation pass. The default emits the
    protocol's metric events."""

    def on_train(self, **m):
        emit("metric", kind="train", **m)

    def on_eval(self, **m):
        emit("metric", kind="eval", **m)


def adapter_weights(model):
    """The trainable (LoRA) parameters by path."""
    from mlx.utils import tree_flatten

    return dict(tree_flatten(model.trainable_parameters()))


def write_adapter(dirpath, weights, adapter_config):
    """An mlx-lm adapter directory: adapters.safetensors and its config."""
    import mlx.core as mx

    os.makedirs(dirpath, exist_ok=True)
    mx.save_safetensors(os.path.join(dirpath, "adapters.safetensors"), weights)
    with open(os.path.join(dirpath, "adapter_config.json"), "w", encoding="utf-8") as f:
        json.dump(adapter_config, f, indent=2, sort_keys=True)


def _replace_dir(tmp, final):
    if os.path.exists(final):
        shutil.rmtree(final)
    os.replace(tmp, final)


def save_checkpoint(args, model, optimizer, counters, keep=3):
    """A checkpoint directory named by its step, written beside and renamed
    into place; the newest keep are kept."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    root = os.path.join(args.work_dir, "checkpoints")
    os.makedirs(root, exist_ok=True)
    step = counters["step"]
    final = os.path.join(root, f"{step:07d}")
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    mx.save_safetensors(os.path.join(tmp, "adapters.safetensors"), adapter_weights(model))
    mx.save_safetensors(os.path.join(tmp, "optimizer.safetensors"), dict(tree_flatten(optimizer.state)))
    state = dict(counters)
    state["fingerprint"] = args.fingerprint
    state["learning_rate"] = float(optimizer.learning_rate.item())
    state["ranks"] = args.ranks
    with open(os.path.join(tmp, "state.json"), "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    _replace_dir(tmp, final)
    done = sorted(d for d in os.listdir(root) if d.isdigit())
    for old in done[:-keep]:
        shutil.rmtree(os.path.join(root, old), ignore_errors=True)
    emit("artifact", kind="checkpoint", step=step, path=final)


def latest_checkpoint(work_dir):
    """The newest complete checkpoint directory, or None."""
    root = os.path.join(work_dir, "checkpoints")
    if not os.path.isdir(root):
        return None
    done = sorted(d for d in os.listdir(root) if d.isdigit() and os.path.exists(os.path.join(root, d, "state.json")))
    return os.path.join(root, done[-1]) if done else None


def _set_path(tree, path, value):
    node = tree
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    node[int(last) if isinstance(node, list) else last] = value


def restore_checkpoint(args, model, optimizer):
    """Load the newest checkpoint into model and optimizer and return its
    counters; refuse one made with other settings or data."""
    import mlx.core as mx

    ckpt = latest_checkpoint(args.work_dir)
    if ckpt is None:
        raise WorkerError("NoCheckpoint", f"nothing to resume: no checkpoint under {args.work_dir}")
    with open(os.path.join(ckpt, "state.json"), encoding="utf-8") as f:
        state = json.load(f)
    if state.get("fingerprint") != args.fingerprint:
        raise WorkerError(
            "ResumeMismatch",
            "the checkpoint was made with other settings or data; resume needs the same dataset, "
            "base model and hyperparameters (or start a new run without --resume)",
        )
    model.load_weights(os.path.join(ckpt, "adapters.safetensors"), strict=False)
    optimizer.init(model.trainable_parameters())
    for k, v in mx.load(os.path.join(ckpt, "optimizer.safetensors")).items():
        _set_path(optimizer.state, k, v)
    emit("progress", stage="resume", step=state["step"], message=f"resuming from step {state['step']}")
    wrote = state.pop("ranks", 1)
    if wrote != args.ranks:
        # The batches are the same; only the dropout noise, drawn per
        # process for its rows, differs from an uninterrupted run.
        emit("log", message=f"the checkpoint was written by {wrote} training processes, this run has {args.ranks}: "
             "the same batches, other dropout noise")
    state.pop("fingerprint", None)
    state.pop("learning_rate", None)
    return state


def train_loop(model, optimizer, loss_fn, gather, train_set, valid_set, args, counters, adapter_config,
               schedule=None, callback=None, ranks=None):
    """Train from counters["step"] to args.steps: each step draws its batch
    from Order, seeds dropout by (seed, step, rank), updates the adapters through
    a compiled step and reports to callback; validation every eval_steps
    (and at step 0 of a fresh run) keeps the best adapter in work_dir/best;
    checkpoints every save_steps, at least every checkpoint_seconds, at the
    end and before stopping for a signal. Returns counters; raises
    WorkerError("Interrupted") after a signal's checkpoint.

    With ranks of more than one process, each computes the gradient of its
    share of every batch and of the validation batches; the sums make
    every rank's update and loss the whole batch's, and only the leader
    reports, checkpoints and keeps the best adapter."""
    from functools import partial

    import mlx.core as mx
    import mlx.nn as nn

    from mlx.utils import tree_map

    ranks = ranks or Ranks(1)
    callback = (callback or Callback()) if ranks.leader else Silent()
    total, batch, max_len = args.steps, args.batch_size, args.max_seq_length
    loss_and_grad = nn.value_and_grad(model, loss_fn)
    state = [model.state, optimizer.state, mx.random.state]

    def step_fn(weight, *a):
        # weight: this rank's share of the batch's supervised tokens. The
        # batch's mean loss is the weighted sum of the ranks' means, and so
        # is its gradient.
        (loss, ntoks), grad = loss_and_grad(model, *a)
        if ranks.size > 1:
            grad = tree_map(lambda g: ranks.sum(g * weight), grad)
            loss = ranks.sum(loss * weight)
        optimizer.update(model, grad)
        return loss, ntoks

    if args.compile:
        step_fn = partial(mx.compile, inputs=state, outputs=state)(step_fn)

    last_save = time.monotonic()
    order = Order([len(d[0]) for d in train_set], batch, args.examples, args.seed)
    best_dir = os.path.join(args.work_dir, "best")

    def run_eval():
        tic = time.perf_counter()
        val, ntok = validation_loss(model, loss_fn, gather, valid_set, batch, max_len, args.eval_batches, ranks)
        step = counters["step"]
        counters["last_val_loss"] = val
        if counters["initial_val_loss"] is None:
            counters["initial_val_loss"] = val
        improved = counters["best_val_loss"] is None or val < counters["best_val_loss"]
        if improved:
            counters.update(best_val_loss=val, best_step=step, evals_since_best=0)
            if step > 0 and ranks.leader:
                tmp = best_dir + ".tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                write_adapter(tmp, adapter_weights(model), adapter_config)
                _replace_dir(tmp, best_dir)
        elif step > 0:
            counters["evals_since_best"] += 1
        callback.on_eval(step=step, total=total, val_loss=val, val_tokens=ntok,
                         best_val_loss=counters["best_val_loss"], best_step=counters["best_step"],
                         seconds=time.perf_counter() - tic)

    if counters["step"] == 0:
        run_eval()
    mx.reset_peak_memory()
    stop = ranks.stop()
    while counters["step"] < total and not stop:
        step = counters["step"] + 1
        tic = time.perf_counter()
        lr_now = float(schedule(optimizer.step).item()) if callable(schedule) else float(optimizer.learning_rate.item())
        rows = order.batch(step)
        mine = ranks.share(rows)
        sup = supervised(train_set, rows)
        weight = supervised(train_set, mine) / sup if sup else 1.0 / ranks.size
        if not mine:
            # A batch with fewer rows than ranks: this one still takes part
            # in the sums, with a row that weighs nothing.
            mine, weight = rows[:1], 0.0
        batch_args, _ = pad(train_set, mine, max_len, gather)
        n_tok = sum(len(train_set[i][0]) for i in rows)
        # Dropout noise is a function of (seed, step) too, so a resumed run
        # draws what the uninterrupted one would have (MLX's RNG state can
        # be read but not restored), and of the rank, so no two ranks draw
        # the same masks for their rows (one process: as before).
        mx.random.seed(((args.seed * 1_000_003 + step) * ranks.size + ranks.rank) % (1 << 63))
        loss, ntoks = step_fn(mx.array(weight, dtype=mx.float32), *batch_args)
        mx.eval(state, loss, ntoks)
        dt = time.perf_counter() - tic
        loss_v = float(loss.item())
        counters.update(step=step, last_train_loss=loss_v)
        counters["tokens"] += n_tok
        counters["supervised_tokens"] += sup
        counters["train_seconds"] += dt
        if counters["first_train_loss"] is None:
            counters["first_train_loss"] = loss_v
        callback.on_train(step=step, total=total, loss=loss_v, lr=lr_now,
                          tokens=n_tok, supervised_tokens=sup, seconds=dt,
                          tokens_per_second=n_tok / dt, supervised_tokens_per_second=sup / dt,
                          peak_memory=int(mx.get_peak_memory()))
        if not math.isfinite(loss_v):
            raise WorkerError("Diverged", f"training loss is {loss_v} at step {step}; lower the learning rate")
        stop = ranks.stop()
        if step % args.eval_steps == 0 or step == total:
            run_eval()
            if args.patience > 0 and counters["evals_since_best"] >= args.patience and step < total:
                counters["stopped_early"] = True
                if ranks.leader:
                    emit("log", message=f"early stop at step {step}: no better validation loss in {args.patience} evaluations")
        if ranks.leader and (step % args.save_steps == 0 or stop or counters["stopped_early"] or step == total
                             or time.monotonic() - last_save >= args.checkpoint_seconds):
            save_checkpoint(args, model, optimizer, counters)
            last_save = time.monotonic()
        if counters["stopped_early"]:
            break
    if stop:
        # The loop saved a checkpoint after the step the signal interrupted.
        raise WorkerError("Interrupted", f"stopped by {stop} after step {counters['step']}; checkpoint saved, resume with --resume")
    return counters
