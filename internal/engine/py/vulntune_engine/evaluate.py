"""vulntune evaluation and model checks.

`python -I run.py vulntune_engine.evaluate OP` reads one JSON request on
stdin and speaks the JSON-lines protocol (protocol.py).

Ops:
  evaluate  load a model once, score the assistant turns of every example
            (token-level cross-entropy) and generate an answer to each
            example's prompt turns with greedy batch decoding, starting
            from the KV cache of the prompt that scoring filled, in one
            continuous batch (an example joins as soon as a slot is free);
            "skip_scoring" answers without scoring (grounded
            regeneration); one "item" event per example as its answer
            finishes: at end of sequence ("stop"), at max_tokens ("length")
            or, with a repeat_stop, when its tail repeats one cycle
            ("repetition", repeat.CycleStop); with a loop_guard
            (repeat.CycleGuard) tokens that would complete a cycle are
            masked, and each item says how often ("loop_guard"). Observing grounded decoding,
            an item whose answer the processor would have changed carries
            "prefix_ids", its tokens before the first intervention; a
            request's "prefixes" (one list of token ids per example, []
            for none) resume each answer after its prefix: grounded
            regeneration decodes only from the first intervention on
            (request_prefixes). Evaluation no longer observes while
            decoding (it replays, below); the path stays as the oracle
            the replay is tested against (tests, Go's checkGrounded) and
            for bench/groundedregen.
            With "return_ids", each item carries "ids", all its answer
            tokens: what the observe op replays.
  observe   load a model's tokenizer only and replay answers free decoding
            gave ("answers": their "ids" and "finish_reason") through
            grounded decoding's observing processor (grounded.py
            GroundedProcessor.replay), with the request's "grounds" and
            "pins": each item's "grounding" and "prefix_ids" as observing
            while decoding would have reported them, in seconds. Free
            answers are then cached without the rules, and a change to
            them regenerates only the answers grounded decoding changes.
  check     load a model's tokenizer, round-trip texts through it, render
            the chat template and, unless told not to, answer one prompt.
"""

import math
import os
import time

from . import cpumath
from .chat import answer_ends, assistant_mask, prompt_turns, require_chat_template
from .grounded import request_processors
from .lmhead import lm_head_split
from .protocol import WorkerError, emit, finish, serve
from .repeat import CycleStop, guard_for, guard_from, stop_from
from .runtime import mlx_backend


def _load_model(model_dir):
    cpumath.cpumath_install(mlx_backend())
    from mlx_lm import load

    if not os.path.isdir(model_dir):
        raise WorkerError("BadRequest", f"model directory {model_dir} does not exist")
    emit("progress", stage="load", message=f"loading {model_dir}")
    model, tokenizer = load(model_dir)
    answer_ends(tokenizer)
    return model, tokenizer, require_chat_template(model_dir, tokenizer)


def _assistant_loss(model, head_fn, tokenizer, messages, prompt, max_len):
    """Summed cross-entropy and token count over the assistant turns, and
    the KV cache of prompt[:-1] or None. The spans come from rendering
    growing prefixes (chat.assistant_mask), as the worker's perplexity.

    When the prompt is a prefix of the scored tokens, the forward pass runs
    in two parts, prompt[:-1] then the rest, through one KV cache, which is
    then trimmed back to prompt[:-1]: generation continues from it instead
    of processing the prompt a second time. With head_fn (lmhead.py) the
    first part computes logits only where an earlier assistant turn is
    scored."""
    import mlx.core as mx
    from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

    ids, mask = assistant_mask(tokenizer, messages)
    ids, mask = ids[:max_len], mask[:max_len]
    n = sum(mask)
    if n == 0:
        return 0.0, 0, None
    head = len(prompt) - 1
    cache = make_prompt_cache(model) if 1 <= head < len(ids) and ids[: head + 1] == prompt else None
    if cache is not None and not can_trim_prompt_cache(cache):
        cache = None

    def nll(logits, positions):
        # logits[i] predicts the token after positions[i].
        ce = cpumath.cross_entropy()(logits.astype(mx.float32), mx.array([ids[t + 1] for t in positions]))
        return (ce * mx.array([mask[t + 1] for t in positions], dtype=mx.float32)).sum()

    if cache is None:
        total = nll(model(mx.array(ids)[None])[0, :-1], range(len(ids) - 1))
    else:
        # The first part's logits matter only where an earlier assistant
        # turn is scored, usually nowhere; MLX evaluates lazily, so logits
        # nothing reads are never computed, and the pass fills the cache.
        x = mx.array(ids[:head])[None]
        scored = [t for t in range(head) if mask[t + 1]]
        total = mx.array(0.0)
        if not scored:
            model(x, cache=cache)
        else:
            at = mx.array(scored)
            logits = model(x, cache=cache)[0][at] if head_fn is None else head_fn(model.model(x, cache=cache)[0][at])
            total = nll(logits, scored)
        total = total + nll(model(mx.array(ids[head:])[None], cache=cache)[0, :-1], range(head, len(ids) - 1))
    total = total.item()
    if cache is not None:
        trim_prompt_cache(cache, len(ids) - head)
        mx.eval([c.state for c in cache])
    return total, n, cache


def request_prefixes(req, n, max_tokens):
    """The answer prefixes of an evaluate request for n examples, one list
    of token ids each ([]: none), or None when it names none. An answer
    with a prefix is decoded from after it, as if it had been generated:
    grounded regeneration sends each answer's "prefix_ids" from the
    observing pass (the free answer up to the first intervention, which
    grounded decoding would have generated too), so only what follows is
    decoded again. Token ids, not text: decoding and encoding again need
    not give the same tokens back."""
    prefixes = req.get("prefixes")
    if not prefixes:
        return None
    if len(prefixes) != n:
        raise WorkerError("BadRequest", f"{len(prefixes)} prefixes for {n} examples")
    out = []
    for i, p in enumerate(prefixes):
        p = p or []
        if not all(type(t) is int and t >= 0 for t in p):
            raise WorkerError("BadRequest", f"prefix {i}: token ids must be non-negative integers")
        if len(p) >= max_tokens:
            raise WorkerError("BadRequest", f"prefix {i}: {len(p)} tokens leave none of max_tokens {max_tokens}")
        out.append(list(p))
    return out


def op_evaluate(req):
    from mlx_lm.generate import BatchGenerator

    model, tokenizer, source = _load_model(req["model"])
    examples = req["examples"]
    if not examples:
        raise WorkerError("BadRequest", "evaluate needs examples")
    head_fn = lm_head_split(model, tokenizer.encode("vulntune checks the output layer"))
    max_tokens = int(req["max_tokens"])
    max_len = int(req["max_seq_length"])
    batch = int(req["batch_size"])
    if max_tokens <= 0 or batch <= 0:
        raise WorkerError("BadRequest", f"max_tokens and batch_size must be positive, got {max_tokens} and {batch}")
    repeat = stop_from(req)
    loop_guard = guard_from(req)
    # Grounded regeneration answers again what free decoding already
    # scored: the loss belongs to the weights, not to the decoding.
    score = not req.get("skip_scoring")
    procs = request_processors(req, tokenizer, range(len(examples)))
    prefixes = request_prefixes(req, len(examples), max_tokens)
    if prefixes and procs:
        for i, p in procs.items():
            p.resume(prefixes[i])

    # One continuous batch: an example is scored, which leaves its prompt's
    # KV cache behind, and joins the decoding batch as soon as it has a free
    # slot, so no answer waits for the longest of a group (a split one
    # larger than the batch used to decode its last answer alone). At most
    # one batch of answers, and their caches, is held at a time.
    scores, prompts = [(0.0, 0)] * len(examples), [None] * len(examples)
    score_s = repeat_s = 0.0
    gen_tokens = shared = resumed = 0
    t_start = time.perf_counter()
    gen = BatchGenerator(
        model,
        stop_tokens=[[t] for t in tokenizer.eos_token_ids],
        completion_batch_size=batch,
        prefill_batch_size=batch,
    )
    index, tokens, guards, started, steer = {}, {}, {}, {}, {}
    pending, scored = set(), 0
    try:
        while scored < len(examples) or pending:
            group, caches = [], []
            t0 = time.perf_counter()
            while scored < len(examples) and len(pending) + len(group) < batch:
                idx = scored
                msgs = examples[idx]["messages"]
                prompts[idx] = tokenizer.apply_chat_template(
                    prompt_turns(msgs), add_generation_prompt=True, tokenize=True
                )
                cache = None
                if score:
                    nll, n, cache = _assistant_loss(model, head_fn, tokenizer, msgs, prompts[idx], max_len)
                    scores[idx] = (nll, n)
                group.append(idx)
                caches.append(cache)
                scored += 1
                emit("progress", stage="score", done=scored, total=len(examples))
            t1 = time.perf_counter()
            score_s += t1 - t0
            if group:
                # A prompt whose cache scoring kept needs only its last
                # token. A resumed answer's prefix is fed as more prompt,
                # prefilled in one pass, and takes its length off the
                # answer's max_tokens. Grounded decoding (grounded.py)
                # hooks in as each answer's logits processor.
                pre = [prefixes[i] if prefixes else [] for i in group]
                # The loop guard masks first, so grounded decoding picks
                # among the tokens it leaves.
                for i, p in zip(group, pre):
                    if loop_guard:
                        steer[i] = guard_for(loop_guard, prompts[i], max_tokens, tokenizer)
                        steer[i].resume(p)
                lps = [([steer[i]] if loop_guard else []) + ([procs[i]] if procs else []) for i in group]
                uids = gen.insert(
                    [(prompts[i] if c is None else prompts[i][-1:]) + p for i, c, p in zip(group, caches, pre)],
                    [max_tokens - len(p) for p in pre],
                    caches=caches if score else None,
                    logits_processors=lps if loop_guard or procs else None,
                )
                shared += sum(c is not None for c in caches)
                del caches
                for uid, i, p in zip(uids, group, pre):
                    # The answer starts as its prefix: its text, token
                    # count and grounding stats cover the whole answer.
                    index[uid], tokens[uid], started[uid] = i, list(p), t1
                    resumed += len(p)
                    if repeat:
                        # The guard reads the prefix first, so a loop is
                        # found where a run from scratch finds it. The
                        # free answer the prefix comes from went on past
                        # it under the same stop: no cycle ends inside it.
                        guards[uid] = CycleStop(*repeat, capacity=max_tokens)
                        for t in p:
                            guards[uid].push(t)
                    pending.add(uid)
            responses = gen.next_generated()
            if not responses:
                break
            looped = []
            for r in responses:
                if r.uid not in pending:
                    continue
                reason = r.finish_reason
                if reason != "stop":
                    tokens[r.uid].append(r.token)
                    gen_tokens += 1
                if reason is None and guards:
                    tc = time.perf_counter()
                    cycle = guards[r.uid].push(r.token)
                    repeat_s += time.perf_counter() - tc
                    if cycle:
                        # A loop never ends by itself: stop it here
                        # rather than at max_tokens, minutes later.
                        reason = "repetition"
                        looped.append(r.uid)
                if reason is None and loop_guard and steer[index[r.uid]].gave_up:
                    # The model keeps coming back to a loop: the guard
                    # gave up, and the answer ends as the stop ends one.
                    reason = "repetition"
                    looped.append(r.uid)
                if reason is None:
                    continue
                pending.discard(r.uid)
                guards.pop(r.uid, None)
                i = index[r.uid]
                nll, n = scores[i]
                toks = tokens.pop(r.uid)
                extra = {}
                if loop_guard:
                    extra["loop_guard"] = steer.pop(i).stats()
                if req.get("return_ids"):
                    extra["ids"] = toks
                if procs:
                    extra["grounding"] = st = procs[i].answer_stats(len(toks), reason)
                    at = st["first_intervention"]
                    if procs[i].observe and at is not None:
                        # Where grounded regeneration resumes: the answer
                        # up to the first intervention, which grounded
                        # decoding generates unchanged.
                        extra["prefix_ids"] = toks[:at]
                emit(
                    "item",
                    index=i,
                    text=tokenizer.decode(toks),
                    prompt_tokens=len(prompts[i]),
                    generation_tokens=len(toks),
                    finish_reason=reason,
                    nll=nll,
                    loss_tokens=n,
                    seconds=time.perf_counter() - started.pop(r.uid),
                    **extra,
                )
            if looped:
                gen.remove(looped)
    finally:
        gen.close()
    if pending:
        raise WorkerError("EngineError", f"the decoder stopped with {len(pending)} answers unfinished")

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
        "generate_seconds": time.perf_counter() - t_start - score_s,
        "repeat_check_seconds": repeat_s,
        "shared_prefill": shared,
        "resumed_tokens": resumed,
        "chat_template_source": source,
        "cpu_kernels": cpumath.kernels_in_use(),
    }


def op_observe(req):
    """Where grounded decoding would first have changed each of the
    request's answers (GroundedProcessor.replay): {"items": [{"index",
    "grounding", "prefix_ids" where it would}]}."""
    from mlx_lm.utils import load_config, load_tokenizer
    from pathlib import Path

    model_dir = req["model"]
    if not os.path.isdir(model_dir):
        raise WorkerError("BadRequest", f"model directory {model_dir} does not exist")
    answers = req.get("answers") or []
    if not req.get("grounds"):
        raise WorkerError("BadRequest", "observe needs grounds")
    for i, a in enumerate(answers):
        ids = a.get("ids")
        if not isinstance(ids, list) or not all(type(t) is int and t >= 0 for t in ids):
            raise WorkerError("BadRequest", f"answer {i}: ids must be a list of non-negative integers")
        if a.get("finish_reason") not in ("stop", "length", "repetition"):
            raise WorkerError("BadRequest", f"answer {i}: finish_reason {a.get('finish_reason')!r}: want stop, length or repetition")
    # The end-of-sequence set decoding used (mlx-lm's load: the config's
    # eos_token_id; answer_ends), which decides where an answer may end.
    path = Path(model_dir)
    tokenizer = answer_ends(load_tokenizer(path, eos_token_ids=load_config(path).get("eos_token_id")))
    procs = request_processors(dict(req, grounding="observe"), tokenizer, range(len(answers)))
    items = []
    for i, a in enumerate(answers):
        st = procs[i].replay(a["ids"], a["finish_reason"])
        item = {"index": i, "grounding": st}
        if st["first_intervention"] is not None:
            item["prefix_ids"] = a["ids"][: st["first_intervention"]]
        items.append(item)
        emit("progress", stage="observe", done=i + 1, total=len(answers))
    return {"items": items}


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
    for text in req["texts"] or []:
        ids = tokenizer.encode(text, add_special_tokens=False)
        back = tokenizer.decode(ids)
        out["round_trips"].append({"text": text, "decoded": back, "tokens": len(ids), "ok": back == text})
    msgs = req["messages"] or []
    try:
        source = require_chat_template(model_dir, tokenizer)
        rendered = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        missing = [m["content"] for m in msgs if m["content"] not in rendered]
        out["template"] = {"ok": not missing, "source": source, "rendered": rendered,
                           "error": "rendered prompt lacks a message" if missing else ""}
    except Exception as e:
        out["template"] = {"ok": False, "source": "", "rendered": "", "error": f"{type(e).__name__}: {e}"}
        return out
    if req["generate"]:
        from mlx_lm import load

        emit("progress", stage="load", message=f"loading {model_dir}")
        model, tokenizer = load(model_dir)
        answer_ends(tokenizer)
        require_chat_template(model_dir, tokenizer)
        prompt = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        text, last = [], None
        for resp in stream_generate(model, tokenizer, prompt, max_tokens=int(req["max_tokens"])):
            text.append(resp.text)
            last = resp
        out["generation"] = {
            "text": "".join(text),
            "generation_tokens": last.generation_tokens if last else 0,
            "finish_reason": (last.finish_reason if last else None) or "",
        }
    return out


OPS = {"evaluate": op_evaluate, "observe": op_observe, "check": op_check}


def main():
    return serve(OPS, "vulntune_engine.evaluate")


if __name__ == "__main__":
    finish(main())
