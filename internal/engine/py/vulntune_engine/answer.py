"""vulntune's answering op, for `vulntune explain`.

`python -I run.py vulntune_engine.answer answer` reads one JSON request on
stdin and speaks the JSON-lines protocol (protocol.py).

Ops:
  answer  load a model once and answer every example's prompt turns with
          greedy decoding, as evaluation's generation does (same chat
          template, same stop tokens, same batched decoder), but without
          scoring anything: identical prompts are answered once, the
          prompt prefix they all share (the system prompt and the chat
          template's header) is processed once and its KV cache copied to
          every prompt, and all prompts go to one continuous batch, so a
          finished answer's slot takes the next prompt at once instead of
          waiting for the longest answer of its group. With a
          "repeat_stop", an answer that has fallen into a loop is stopped
          as evaluation stops it (repeat.CycleStop, finish reason
          "repetition") and kept up to the end of the loop's first round;
          with a "loop_guard" the tokens that would complete a cycle are
          masked (repeat.CycleGuard) and each item says how often.
          One "item" event per example as its answer finishes.
"""

import time

from . import cpumath
from .chat import prompt_turns
from .evaluate import _load_model
from .grounded import request_processors
from .protocol import WorkerError, emit, finish, serve
from .repeat import CycleStop, guard_for, guard_from, stop_from

# A shared prefix shorter than this is not worth a separate forward pass.
MIN_SHARED_PREFIX = 16



def common_prefix(seqs):
    """The length of the longest prefix every sequence in seqs shares."""
    if not seqs:
        return 0
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
    return n



def _copy_cache(cache):
    """A prompt's own copy of the shared prefix's KV cache (plain KVCache
    layers only): new array objects cut to the prefix, so no prompt writes
    into arrays another holds, while MLX's slices keep the copies small."""
    out = []
    for c in cache:
        keys, values, offset = c.state
        n = type(c)()
        n.state = (keys[..., :offset, :], values[..., :offset, :], offset)
        out.append(n)
    return out


def op_answer(req):
    import mlx.core as mx
    from mlx_lm.generate import BatchGenerator
    from mlx_lm.models.cache import KVCache, make_prompt_cache

    t_start = time.perf_counter()
    examples = req["examples"]
    if not examples:
        raise WorkerError("BadRequest", "answer needs examples")
    max_tokens = int(req["max_tokens"])
    batch = int(req["batch_size"])
    repeat = stop_from(req)
    loop_guard = guard_from(req)  # bad settings fail before the model loads
    if max_tokens <= 0 or batch <= 0:
        raise WorkerError("BadRequest", f"max_tokens and batch_size must be positive, got {max_tokens} and {batch}")
    model, tokenizer, source = _load_model(req["model"])
    t_loaded = time.perf_counter()

    # The prompts exactly as evaluation renders them; identical prompts are
    # answered once (greedy answers to one prompt are one answer).
    unique, users = {}, []
    for i, ex in enumerate(examples):
        ids = tokenizer.apply_chat_template(prompt_turns(ex["messages"]), add_generation_prompt=True, tokenize=True)
        key = tuple(ids)
        if key not in unique:
            unique[key] = len(users)
            users.append([])
        users[unique[key]].append(i)
    prompts = [list(k) for k in unique]

    # The shared prefix, processed once. Every prompt keeps at least one
    # token of its own: the generator needs a last token to start from.
    shared = min(common_prefix(prompts), min(len(p) for p in prompts) - 1)
    caches = None
    if shared >= MIN_SHARED_PREFIX:
        base = make_prompt_cache(model)
        # Only plain KV caches are copied (SmolLM2, OLMo-2, Llama): other
        # kinds (rotating, quantised, state-space) are prefilled whole.
        if all(type(c) is KVCache for c in base):
            model(mx.array(prompts[0][:shared])[None], cache=base)
            mx.eval([c.state for c in base])
            caches = [_copy_cache(base) for _ in prompts]
            del base
    if caches is None:
        shared = 0
    t_prefix = time.perf_counter()

    # Prompts of similar length share a prefill batch: less padding.
    order = sorted(range(len(prompts)), key=lambda u: len(prompts[u]))
    gen = BatchGenerator(
        model,
        stop_tokens=[[t] for t in tokenizer.eos_token_ids],
        completion_batch_size=batch,
        prefill_batch_size=batch,
    )
    gen_tokens = repetitions = 0
    # Grounded decoding (grounded.py): one processor per unique prompt,
    # under the ground of its first example.
    procs = request_processors(req, tokenizer, [users[u][0] for u in order])
    # The loop guard (repeat.CycleGuard) masks before grounded decoding
    # chooses, one per unique prompt.
    steer = [guard_for(loop_guard, p, max_tokens, tokenizer) for p in prompts] if loop_guard else None
    lps = [([steer[u]] if steer else []) + ([procs[users[u][0]]] if procs else []) for u in order]
    try:
        uids = gen.insert(
            [prompts[u][shared:] for u in order],
            [max_tokens] * len(order),
            caches=[caches[u] for u in order] if caches is not None else None,
            logits_processors=lps if steer or procs else None,
        )
        del caches
        index = dict(zip(uids, order))
        tokens = {uid: [] for uid in uids}
        guards = {uid: CycleStop(*repeat, capacity=max_tokens) for uid in uids} if repeat else {}
        pending, done = set(uids), 0

        def emit_answer(uid, toks, reason):
            nonlocal done
            u = index[uid]
            text = tokenizer.decode(toks)
            for i in users[u]:
                done += 1
                emit(
                    "item",
                    index=i,
                    text=text,
                    prompt_tokens=len(prompts[u]),
                    generation_tokens=len(toks),
                    finish_reason=reason,
                    seconds=time.perf_counter() - t_prefix,
                    **({"grounding": procs[users[u][0]].answer_stats(len(toks), reason)} if procs else {}),
                    **({"loop_guard": steer[u].stats()} if steer else {}),
                )
            emit("progress", stage="answer", done=done, total=len(examples))

        while pending and (responses := gen.next_generated()):
            looped = []
            for r in responses:
                if r.uid not in pending:
                    continue
                if r.finish_reason != "stop":
                    tokens[r.uid].append(r.token)
                    gen_tokens += 1
                if r.finish_reason is not None:
                    pending.discard(r.uid)
                    emit_answer(r.uid, tokens[r.uid], r.finish_reason)
                    continue
                guard = guards.get(r.uid)
                period = guard.push(r.token) if guard else 0
                if period:
                    span = guard.repeated(period)
                    looped.append(r.uid)
                    pending.discard(r.uid)
                    repetitions += 1
                    emit_answer(r.uid, tokens[r.uid][: len(tokens[r.uid]) - span], "repetition")
                elif steer and steer[index[r.uid]].gave_up:
                    # The model keeps coming back to a loop: the guard
                    # gave up, and the answer ends as the stop ends one.
                    looped.append(r.uid)
                    pending.discard(r.uid)
                    repetitions += 1
                    emit_answer(r.uid, tokens[r.uid], "repetition")
            if looped:
                gen.remove(looped)
    finally:
        gen.close()
    t_end = time.perf_counter()
    return {
        "items": len(examples),
        "unique_prompts": len(prompts),
        "shared_prefix_tokens": shared,
        "prompt_tokens": sum(len(p) - shared for p in prompts) + shared,
        "generation_tokens": gen_tokens,
        "repetitions": repetitions,
        "load_seconds": t_loaded - t_start,
        "prefix_seconds": t_prefix - t_loaded,
        "generate_seconds": t_end - t_prefix,
        "chat_template_source": source,
        "cpu_kernels": cpumath.kernels_in_use(),
    }


OPS = {"answer": op_answer}


def main():
    return serve(OPS, "vulntune_engine.answer")


if __name__ == "__main__":
    finish(main())
