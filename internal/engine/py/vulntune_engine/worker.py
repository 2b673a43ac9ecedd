"""vulntune engine worker: one op per process.

`python -I run.py vulntune_engine.worker OP` reads one JSON request on
stdin and writes events to stdout, one JSON object per line (protocol.py).
Ops: info (versions, device, BLAS), blas (a matmul's rate), generate (one
chat completion), perplexity (loss on assistant turns or plain texts), pull
(a model from the Hub).
"""

import math
import os
import shutil
import sys
import time

from .chat import answer_ends, assistant_mask, require_chat_template
from .protocol import WorkerError, emit, finish, serve
from .runtime import blas_library, mlx_backend, version


def op_info(req):
    import platform

    import mlx.core as mx

    backend = mlx_backend()
    info = mx.device_info() if hasattr(mx, "device_info") else {}
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "mlx": version("mlx"),
        "mlx_lm": version("mlx-lm"),
        "huggingface_hub": version("huggingface_hub"),
        "transformers": version("transformers"),
        "backend": backend,
        "device": str(info.get("device_name", "") or mx.default_device()),
        "memory_bytes": int(info.get("memory_size", 0) or 0),
        "blas_library": blas_library(),
    }


def op_blas(req):
    import mlx.core as mx

    n, repeats = int(req["n"]), int(req["repeats"])
    mx.set_default_device(mx.cpu)
    a, b = mx.random.normal((n, n)), mx.random.normal((n, n))
    mx.eval(a @ b)  # warm up: thread pool, page faults
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        mx.eval(a @ b)
        best = min(best, time.perf_counter() - t)
    return {"gflops": 2 * n**3 / best / 1e9, "library": blas_library()}


def _load(req):
    from mlx_lm import load

    model_dir = req["model"]
    adapter = req.get("adapter") or None
    emit("progress", stage="load", message=f"loading {model_dir}")
    model, tokenizer = load(model_dir, adapter_path=adapter)
    answer_ends(tokenizer)
    source = require_chat_template(model_dir, tokenizer)
    return model, tokenizer, source


def _messages(req):
    if req.get("messages"):
        return req["messages"]
    msgs = []
    if req.get("system"):
        msgs.append({"role": "system", "content": req["system"]})
    msgs.append({"role": "user", "content": req["prompt"]})
    return msgs


def op_generate(req):
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer, source = _load(req)
    msgs = _messages(req)
    prompt = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
    sampler = make_sampler(temp=float(req["temp"]))
    # Grounded decoding (grounded.py): identifiers only from the messages.
    proc = None
    if req.get("grounded"):
        from .grounded import GroundedProcessor

        proc = GroundedProcessor(
            tokenizer, "\n".join(m["content"] for m in msgs),
            greedy=float(req["temp"]) == 0, eos_ids=list(tokenizer.eos_token_ids),
            max_tokens=int(req["max_tokens"]),
        )
    text, last = [], None
    start = time.perf_counter()
    for resp in stream_generate(
        model, tokenizer, prompt, max_tokens=int(req["max_tokens"]), sampler=sampler,
        logits_processors=[proc] if proc else None,
    ):
        text.append(resp.text)
        last = resp
    elapsed = time.perf_counter() - start
    return {
        "text": "".join(text),
        "prompt_tokens": last.prompt_tokens if last else len(prompt),
        "generation_tokens": last.generation_tokens if last else 0,
        "prompt_tps": last.prompt_tps if last else 0.0,
        "generation_tps": last.generation_tps if last else 0.0,
        "finish_reason": (last.finish_reason if last else None) or "",
        "seconds": elapsed,
        "chat_template_source": source,
        **({"grounding": proc.stats()} if proc else {}),
    }


def op_perplexity(req):
    """Mean negative log-likelihood per scored token: the assistant tokens of
    chat examples, or every token after the first of plain texts."""
    import mlx.core as mx
    import mlx.nn as nn

    model, tokenizer, _ = _load(req)
    max_len = int(req["max_seq_length"])
    items = [("messages", m) for m in req.get("examples") or []]
    items += [("text", t) for t in req.get("texts") or []]
    if not items:
        raise WorkerError("BadRequest", "perplexity needs examples or texts")
    total_nll, total_tokens = 0.0, 0
    for idx, (kind, item) in enumerate(items):
        if kind == "messages":
            ids, mask = assistant_mask(tokenizer, item["messages"])
        else:
            ids = tokenizer.encode(item)
            mask = [0] + [1] * (len(ids) - 1)
        ids, mask = ids[:max_len], mask[:max_len]
        n = sum(mask)
        if n == 0:
            emit("metric", index=idx, tokens=0, loss=None)
            continue
        x = mx.array(ids)[None]
        logits = model(x)[0, :-1].astype(mx.float32)
        targets = mx.array(ids[1:])
        ce = nn.losses.cross_entropy(logits, targets)
        nll = (ce * mx.array(mask[1:], dtype=mx.float32)).sum().item()
        total_nll += nll
        total_tokens += n
        emit("metric", index=idx, tokens=n, loss=nll / n)
    if total_tokens == 0:
        raise WorkerError("BadRequest", "no tokens to score (no assistant turns?)")
    loss = total_nll / total_tokens
    return {"loss": loss, "perplexity": math.exp(loss), "tokens": total_tokens, "items": len(items)}


def op_pull(req):
    """Download a model repo (safetensors, JSON, tokenizer files and the
    card, never pickles) and optionally quantize it with mlx_lm.convert."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = constants.ENDPOINT
    dest = req["dest"]
    download_dir = dest if not req.get("quantize_bits") else dest + ".download"
    emit("progress", stage="download", message=f"{req['repo']} from {endpoint}")
    try:
        snapshot_download(
            repo_id=req["repo"],
            revision=req.get("revision") or None,
            local_dir=download_dir,
            allow_patterns=["*.json", "*.safetensors", "*.jinja", "tokenizer.model", "*.txt", "README.md"],
        )
    except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError) as e:
        raise WorkerError(type(e).__name__, f"{req['repo']} on {endpoint}: {e}") from e
    except Exception as e:  # connection failures surface as several types
        raise WorkerError(
            "HubUnreachable", f"cannot reach {endpoint} (HF_ENDPOINT): {type(e).__name__}: {e}"
        ) from e
    # local_dir downloads keep the client's bookkeeping (.cache/huggingface:
    # lock files, per-file metadata) inside the model dir; a model dir
    # holds the model only, and pull never resumes into an existing one.
    shutil.rmtree(os.path.join(download_dir, ".cache"), ignore_errors=True)
    emit("artifact", kind="download", path=download_dir)
    if req.get("quantize_bits"):
        from mlx_lm import convert

        emit("progress", stage="quantize", message=f"{req['quantize_bits']}-bit")
        convert(hf_path=download_dir, mlx_path=dest, quantize=True, q_bits=int(req["quantize_bits"]))
    return {"path": dest, "endpoint": endpoint}


OPS = {
    "info": op_info,
    "blas": op_blas,
    "generate": op_generate,
    "perplexity": op_perplexity,
    "pull": op_pull,
}


def main():
    return serve(OPS, "vulntune_engine.worker")


if __name__ == "__main__":
    finish(main())
