"""Chat templates: the one policy for every module, and which tokens of a
conversation are the assistant's."""

import json
import os

from .protocol import WorkerError


def read_metadata(model_dir):
    """A model directory's metadata.json as a dict ({} when absent or not
    an object)."""
    try:
        with open(os.path.join(model_dir, "metadata.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (FileNotFoundError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def require_chat_template(model_dir, tokenizer):
    """Never fall back to a raw prompt: a model without a chat template is
    prompted in a format it was not trained on and answers badly without any
    error. The only template used besides the tokenizer's own is one that
    vulntune recorded explicitly in metadata.json (engine.EnsureChatTemplate,
    for bases that ship none, e.g. OLMo-2 base), for every module alike:
    generation, scoring and training. Returns where the template came from."""
    if tokenizer.has_chat_template:
        return "tokenizer"
    meta = read_metadata(model_dir)
    tmpl = meta.get("chat_template")
    if isinstance(tmpl, str) and tmpl:
        tokenizer._tokenizer.chat_template = tmpl
        return meta.get("chat_template_source", "metadata")
    raise WorkerError(
        "NoChatTemplate",
        f"model {model_dir} has no chat template; vulntune will not prompt or train it "
        "with raw text. Set one explicitly (engine.EnsureChatTemplate, used by "
        "`vulntune models pull`) so metadata.json records which template it got",
    )


def answer_ends(tokenizer):
    """Make every special token of the tokenizer end an answer, as its
    end-of-sequence token does, and return the tokenizer. A chat model
    that emits one of them mid-answer (SmolLM2's `<|endoftext|>`, its
    pretraining's document separator and the tokenizer's unk; a new
    `<|im_start|>` turn) has finished its answer: decoded, it is only
    literal markup in the text the user reads. Added to mlx-lm's own
    end-of-sequence set, so every path that stops there (BatchGenerator,
    stream_generate, the server, the loop guard's and grounded decoding's
    ends) stops at them too."""
    for t in getattr(tokenizer._tokenizer, "all_special_ids", None) or ():
        tokenizer.add_eos_token(t)
    return tokenizer


def prompt_turns(messages):
    """Everything before the last assistant turn: what the model is asked."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        raise WorkerError("BadRequest", "example has no assistant turn")
    return messages[:last]


def assistant_mask(tokenizer, messages):
    """Token ids of the whole conversation and a 0/1 mask over them that is 1
    on every token of an assistant turn, as scoring counts them: the spans
    come from rendering growing prefixes of the conversation, a turn being
    the tokens between the prompt that asks for it and the conversation that
    ends with it. The first token is never scored (nothing predicts it)."""
    ids = tokenizer.apply_chat_template(messages, tokenize=True)
    mask = [0] * len(ids)
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        a = len(tokenizer.apply_chat_template(messages[:i], add_generation_prompt=True, tokenize=True))
        b = len(tokenizer.apply_chat_template(messages[: i + 1], tokenize=True))
        for p in range(max(a, 1), min(b, len(ids))):
            mask[p] = 1
    return ids, mask
