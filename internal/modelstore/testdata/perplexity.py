"""Perplexity and a chat answer from a Hugging Face layout model dir, via mlx-lm.

Usage: python perplexity.py MODEL_DIR [--prompt TEXT] [--max-tokens N]

Prints one JSON object: perplexity of PARAGRAPH (token-level, natural log
base, first token unscored), the number of scored tokens, the answer to the
prompt rendered through the tokenizer's chat template (greedy decoding), and
tokenizer checks (round trip and the rendered template). The vulntune engine
reuses this to prove a GGUF import is faithful: an import that forgets to
undo llama.cpp's Q/K permutation scores a far higher perplexity.
"""

import argparse
import json
import math

import mlx.core as mx
import mlx.nn as nn
from mlx_lm import generate, load

PARAGRAPH = (
    "The history of the city begins with a small settlement on the bank of a wide river. "
    "Farmers came first, drawn by the rich soil and the steady supply of water, and they built "
    "simple houses of wood and clay. Over the years, traders followed the farmers, because the "
    "river made it easy to move goods between the hills in the north and the sea in the south. "
    "A market grew up near the old bridge, and on busy days people sold grain, fish, cloth and "
    "tools from early morning until the sun went down. As the town became richer, its leaders "
    "built a stone wall to protect it, and later they added a church, a school and a hall where "
    "the council could meet. Many of these buildings still stand today. Visitors often walk along "
    "the narrow streets of the old quarter, stop for coffee in the main square, and then climb the "
    "hill to enjoy the view of the river valley. In the evening, the lights of the bridge shine on "
    "the water, and the city feels calm and quiet, much as it must have felt hundreds of years ago."
)


def perplexity(model, tokenizer, text):
    ids = tokenizer.encode(text)
    x = mx.array(ids)[None]
    logits = model(x[:, :-1]).astype(mx.float32)
    loss = nn.losses.cross_entropy(logits, x[:, 1:], reduction="mean")
    return math.exp(loss.item()), len(ids) - 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--prompt", default="What is SQL injection?")
    p.add_argument("--max-tokens", type=int, default=120)
    args = p.parse_args()

    model, tokenizer = load(args.model)
    ppl, n = perplexity(model, tokenizer, PARAGRAPH)
    messages = [{"role": "user", "content": args.prompt}]
    rendered = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    answer = generate(model, tokenizer, prompt=rendered, max_tokens=args.max_tokens, verbose=False)
    samples = ["Hello, world! SQL injection", "  two spaces, digits 12345 and ünïcödé ✓\n\ttab", "<|im_start|>user\nhi<|im_end|>"]
    round_trip = {s: tokenizer.decode(tokenizer.encode(s)) == s for s in samples}
    print(json.dumps({
        "perplexity": round(ppl, 3),
        "scored_tokens": n,
        "answer": answer,
        "rendered_prompt": rendered,
        "encode_hello": tokenizer.encode(samples[0]),
        "round_trip": round_trip,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
