"""Finished answers leave an mlx-lm BatchGenerator in groups.

mlx-lm's GenerationBatch drops a row the step it finishes:
BatchKVCache.filter gathers every layer's keys and values into new arrays,
and the prompt that takes the free slot is prefilled alone and joined by
BatchKVCache.extend, which pads and concatenates them all again. On the
2-core machine each of those copies of a 48-row cache of 1,000 tokens
(SmolLM2-135M, float32: 2.2 GB) takes about 2 s, several decoding steps
(bench/kvcopy.sh), and explain's 188 answers paid it twice per answer.

So the ops end answers themselves (end of sequence, max_tokens, a loop):
the generator is built with no stop tokens and no length bound of its own
(`unbounded`), and a finished row stays in the batch, decoding tokens
nobody reads, until a sixth of the batch has finished. Then one filter
drops the group, and the generator prefills the prompts that take their
slots together and joins them with one extend. A finished row costs its
share of a step's compute while it waits: a sixth of a step at most.
"""

# Rows are retired once at least 1/RETIRE_SHARE of the batch has finished.
RETIRE_SHARE = 6

# The generator's own length bound, far past any answer's: the op ends
# answers at their max_tokens; a finished row waiting to be retired goes on.
UNBOUNDED = 1 << 30


def answer_end(token, n_tokens, eos, max_tokens):
    """Why an answer ends with token, or None: "stop" at end of sequence
    (the token is no part of the answer), "length" when it is the
    max_tokens-th token (n_tokens counts the answer's tokens with it), as
    mlx-lm's GenerationBatch decides."""
    if token in eos:
        return "stop"
    if n_tokens >= max_tokens:
        return "length"
    return None


class Retirer:
    """Collects a generator's finished rows and removes them together."""

    def __init__(self, gen, share=RETIRE_SHARE):
        self.gen = gen
        self.share = share
        self.finished = []
        self.removals = 0  # generator.remove calls, for the op's summary

    def retire(self, uid):
        """Marks the row of uid finished: it decodes on, unread."""
        self.finished.append(uid)

    def step(self, rows):
        """After a step's answers were read: removes the finished rows once
        they are a share of the rows the step decoded (its responses, one
        a row, finished ones included; prompts waiting for a slot are no
        rows yet, and a finished row in the last slot frees it at once)."""
        if self.finished and len(self.finished) * self.share >= rows:
            self.gen.remove(self.finished)
            self.finished = []
            self.removals += 1
