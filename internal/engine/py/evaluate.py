"""vulntune evaluation and model-check engine script.

Same protocol as worker.py: `python -I evaluate.py OP` reads one JSON request
on stdin and writes JSON-line events to stdout, ending with exactly one
"result" (exit 0) or "error" (exit non-zero). Library output goes to stderr.

Ops:
  evaluate  load a model once, score the assistant turns of every example
            (token-level cross-entropy) and generate an answer to each
            example's system+user turns with greedy batch decoding; one
            "item" event per example as its answer finishes.
  check     load a model's tokenizer, round-trip texts through it, render
            the chat template and, unless told not to, answer one prompt.

It runs under `python -I`, so it cannot import worker.py and repeats the few
helpers it needs (event stream, chat-template policy).
"""

import json
import math
import os
import sys
import time


def _require_chat_template(model_dir, tokenizer):
    """The policy of worker.py: the tokenizer's own template, or one that
    vulntune recorded in metadata.json; never a raw prompt."""
    if tokenizer.has_chat_template:
        return "tokenizer"
    try:
        with open(os.path.join(model_dir, "metadata.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (FileNotFoundError, ValueError):
        meta = {}
    tmpl = meta.get("chat_template") if isinstance(meta, dict) else None
    if isinstance(tmpl, str) and tmpl:
        tokenizer._tokenizer.chat_template = tmpl
        return meta.get("chat_template_source", "metadata")
    raise WorkerError("NoChatTemplate", f"model {model_dir} has no chat template")


def _load_model(model_dir):
    from mlx_lm import load

    if not os.path.isdir(model_dir):
        raise WorkerError("BadRequest", f"model directory {model_dir} does not exist")
    emit("progress", stage="load", message=f"loading {model_dir}")
    model, tokenizer = load(model_dir)
    return model, tokenizer, _require_chat_template(model_dir, tokenizer)


def _prompt_turns(messages):
    """Everything before the last assistant turn: what the model is asked."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        raise WorkerError("BadRequest", "example has no assistant turn")
    return messages[:last]


def _assistant_loss(model, tokenizer, messages, max_len):
    """Summed cross-entropy and token count over the assistant turns. The
    spans come from rendering growing prefixes, as worker.py's perplexity."""
    import mlx.core as mx
    import mlx.nn as nn

    ids = tokenizer.apply_chat_template(messages, tokenize=True)
    mask = [0] * len(ids)
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        a = len(tokenizer.apply_chat_template(messages[:i], add_generation_prompt=True, tokenize=True))
        b = len(tokenizer.apply_chat_template(messages[: i + 1], tokenize=True))
        for p in range(max(a, 1), min(b, len(ids))):
            mask[p] = 1
    ids, mask = ids[:max_len], mask[:max_len]
    n = sum(mask)
    if n == 0:
        return 0.0, 0
    logits = model(mx.array(ids)[None])[0, :-1].astype(mx.float32)
    ce = nn.losses.cross_entropy(logits, mx.array(ids[1:]))
    return (ce * mx.array(mask[1:], dtype=mx.float32)).sum().item(), n


def op_evaluate(req):
    from mlx_lm.generate import BatchGenerator

    model, tokenizer, source = _load_model(req["model"])
    examples = req.get("examples") or []
    if not examples:
        raise WorkerError("BadRequest", "evaluate needs examples")
    max_tokens = int(req.get("max_tokens", 384))
    max_len = int(req.get("max_seq_length", 2048))
    batch = max(1, int(req.get("batch_size", 8)))

    t0 = time.perf_counter()
    scores, prompts = [], []
    for idx, ex in enumerate(examples):
        msgs = ex["messages"]
        scores.append(_assistant_loss(model, tokenizer, msgs, max_len))
        prompts.append(
            tokenizer.apply_chat_template(_prompt_turns(msgs), add_generation_prompt=True, tokenize=True)
        )
        emit("progress", stage="score", done=idx + 1, total=len(examples))
    score_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    gen = BatchGenerator(
        model,
        stop_tokens=[[t] for t in tokenizer.eos_token_ids],
        completion_batch_size=batch,
        prefill_batch_size=batch,
    )
    uids = gen.insert(prompts, [max_tokens] * len(prompts))
    index = {uid: i for i, uid in enumerate(uids)}
    tokens = {uid: [] for uid in uids}
    started = {uid: time.perf_counter() for uid in uids}
    gen_tokens = 0
    try:
        while responses := gen.next_generated():
            for r in responses:
                if r.finish_reason != "stop":
                    tokens[r.uid].append(r.token)
                    gen_tokens += 1
                if r.finish_reason is None:
                    continue
                i = index[r.uid]
                nll, n = scores[i]
                emit(
                    "item",
                    index=i,
                    text=tokenizer.decode(tokens[r.uid]),
                    prompt_tokens=len(prompts[i]),
                    generation_tokens=len(tokens[r.uid]),
                    finish_reason=r.finish_reason,
                    nll=nll,
                    loss_tokens=n,
                    seconds=time.perf_counter() - started[r.uid],
                )
    finally:
        gen.close()
    gen_s = time.perf_counter() - t1

    total_nll = sum(s[0] for s in scores)
    total_tokens = sum(s[1] for s in scores)
    loss = total_nll / total_tokens if total_tokens else None
    return {
        "loss": loss,
        "perplexity": math.exp(loss) if loss is not None else None,
        "loss_tokens": total_tokens,
        "items": len(examples),
        "generation_tokens": gen_tokens,
        "score_seconds": score_s,
        "generate_seconds": gen_s,
        "chat_template_source": source,
    }


def op_check(req):
    """Tokenizer round trips and chat template rendering, plus one answer
    when req["generate"] is true. Each part reports instead of raising, so
    validation can name what failed."""
    from mlx_lm import stream_generate
    from mlx_lm.utils import load_tokenizer
    from pathlib import Path

    model_dir = req["model"]
    if not os.path.isdir(model_dir):
        raise WorkerError("BadRequest", f"model directory {model_dir} does not exist")
    out = {"round_trips": [], "template": {}, "generation": None, "tokenizer_error": ""}
    try:
        tokenizer = load_tokenizer(Path(model_dir))
    except Exception as e:  # any loader failure is a finding, not a crash
        out["tokenizer_error"] = f"{type(e).__name__}: {e}"
        return out
    for text in req.get("texts") or []:
        ids = tokenizer.encode(text, add_special_tokens=False)
        back = tokenizer.decode(ids)
        out["round_trips"].append({"text": text, "decoded": back, "tokens": len(ids), "ok": back == text})
    msgs = req.get("messages") or []
    try:
        source = _require_chat_template(model_dir, tokenizer)
        rendered = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        missing = [m["content"] for m in msgs if m["content"] not in rendered]
        out["template"] = {"ok": not missing, "source": source, "rendered": rendered,
                           "error": "rendered prompt lacks a message" if missing else ""}
    except Exception as e:
        out["template"] = {"ok": False, "source": "", "rendered": "", "error": f"{type(e).__name__}: {e}"}
        return out
    if req.get("generate"):
        from mlx_lm import load

        emit("progress", stage="load", message=f"loading {model_dir}")
        model, tokenizer = load(model_dir)
        _require_chat_template(model_dir, tokenizer)
        prompt = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        text, last = [], None
        for resp in stream_generate(model, tokenizer, prompt, max_tokens=int(req.get("max_tokens", 96))):
            text.append(resp.text)
            last = resp
        out["generation"] = {
            "text": "".join(text),
            "generation_tokens": last.generation_tokens if last else 0,
            "finish_reason": (last.finish_reason if last else None) or "",
        }
    return out


OPS = {"evaluate": op_evaluate, "check": op_check}


def main():
    return serve(OPS, "evaluate.py")


if __name__ == "__main__":
    sys.exit(main())
