"""Stopping an answer that has fallen into a loop, and measuring reference
answers with the model's tokenizer.

`python -I run.py vulntune_engine.repeat OP` reads one JSON request on stdin
and speaks the JSON-lines protocol (protocol.py).

Ops:
  references  load a model's tokenizer and, for each text, count its tokens
              and say where the repetition stop would end it: evaluation
              sets its length bound from the longest reference answer, and a
              stop that would cut a reference answer short is a stop that
              cuts good answers too.

A greedy decoder that starts repeating itself never stops: the same line
("The scanner gives no fix for this rule; change ...") comes back until the
length bound, which with whole-answer bounds (over a thousand tokens) costs
minutes per answer and measures nothing. CycleStop ends such an answer as
soon as its tail is one period repeated: the last `min_repeats` periods of
length p (1 <= p <= max_period) are identical and span at least
`min_tokens` tokens. Reference answers repeat nothing of the kind (at most
five identical tokens in a row, no span of 18 tokens or more repeated
twice), so the margin between them and a loop is wide.
"""

from .protocol import WorkerError, finish, serve


class CycleStop:
    """Incremental check for a repeated cycle at the end of a token
    sequence, O(max_period) per token.

    For every period p it keeps run[p], the number of latest positions i
    with t[i] == t[i - p]: the tail is periodic with period p over
    run[p] + p tokens. It stops when, for some p, the tail holds min_repeats
    whole periods, run[p] >= p * (min_repeats - 1), spanning at least
    min_tokens, run[p] + p >= min_tokens. The comparisons run in numpy, one
    vector of max_period per token (bench: microseconds against a decoding
    step's tens of milliseconds).
    """

    def __init__(self, max_period, min_repeats, min_tokens, capacity=0):
        import numpy as np

        if max_period < 1 or min_repeats < 2 or min_tokens < 1:
            raise WorkerError(
                "BadRequest",
                f"repeat_stop: max_period >= 1, min_repeats >= 2 and min_tokens >= 1 required, "
                f"got {max_period}, {min_repeats}, {min_tokens}",
            )
        self._np = np
        self.max_period = max_period
        periods = np.arange(1, max_period + 1)
        # run[p - 1] must reach need[p - 1] for period p to stop the answer.
        self._need = np.maximum(periods * (min_repeats - 1), min_tokens - periods)
        self._run = np.zeros(max_period, dtype=np.int64)
        self._buf = np.zeros(max(capacity, 64), dtype=np.int64)
        self._n = 0

    def __len__(self):
        return self._n

    def push(self, token):
        """Append token; return the period of the cycle the tail now
        repeats, or 0."""
        np = self._np
        n = self._n
        if n == len(self._buf):
            self._buf = np.concatenate([self._buf, np.zeros_like(self._buf)])
        self._buf[n] = token
        self._n = n + 1
        k = min(n, self.max_period)
        run = self._run
        if k:
            # self._buf[n - 1 :: -1][:k] holds t[n-1], t[n-2], ..., t[n-k]:
            # entry p-1 is t[n - p], compared with the new token t[n].
            same = self._buf[n - k : n][::-1] == token
            run[:k] = np.where(same, run[:k] + 1, 0)
        hit = np.flatnonzero(run[:k] >= self._need[:k]) if k else ()
        return int(hit[0]) + 1 if len(hit) else 0

    def repeated(self, period):
        """How many of the latest tokens each equal the token period before
        them: cutting that many off the end leaves the cycle's first round,
        so an answer stopped in a loop keeps what it said once."""
        return int(self._run[period - 1]) if 1 <= period <= self.max_period else 0


def stop_from(req):
    """The CycleStop settings of a request's "repeat_stop" (max_period,
    min_repeats, min_tokens), or None when it has none: explain's answers and
    older callers generate to their bound."""
    spec = req.get("repeat_stop")
    if not spec:
        return None
    try:
        return int(spec["max_period"]), int(spec["min_repeats"]), int(spec["min_tokens"])
    except (KeyError, TypeError, ValueError) as e:
        raise WorkerError("BadRequest", f"repeat_stop {spec!r}: want max_period, min_repeats and min_tokens ({e})")


def first_stop(tokens, settings):
    """The number of tokens after which CycleStop with settings ends
    tokens, or -1 when it never does."""
    guard = CycleStop(*settings, capacity=len(tokens))
    for i, t in enumerate(tokens):
        if guard.push(t):
            return i + 1
    return -1


def op_references(req):
    """Token counts of req["texts"] with req["model"]'s tokenizer, and where
    the repetition stop req["repeat_stop"] would end each (-1: never)."""
    import os
    from pathlib import Path

    from mlx_lm.utils import load_tokenizer

    model_dir = req["model"]
    if not os.path.isdir(model_dir):
        raise WorkerError("BadRequest", f"model directory {model_dir} does not exist")
    settings = stop_from(req)
    tokenizer = load_tokenizer(Path(model_dir))
    tokens, stops = [], []
    for text in req["texts"]:
        ids = tokenizer.encode(text, add_special_tokens=False)
        tokens.append(len(ids))
        stops.append(first_stop(ids, settings) if settings else -1)
    return {"tokens": tokens, "stops": stops}


OPS = {"references": op_references}


def main():
    return serve(OPS, "vulntune_engine.repeat")


if __name__ == "__main__":
    finish(main())
