"""Training data: conversations tokenized with a mask over every assistant
turn, a batch order that is a pure function of (seed, step), padding and
gathering into loss arguments, and the losses."""

import json

from .protocol import WorkerError, emit, stop_requested


def read_jsonl(path):
    """The conversations ("messages") of a split file."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line)["messages"])
    return rows


def encode(tokenizer, messages, max_len):
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
            raise WorkerError(
                "ChatTemplate",
                "the chat template does not render a conversation as the concatenation of its "
                "turns, so assistant tokens cannot be located",
            )
        spans.append((len(before), len(before) + len(upto[len(before):].rstrip())))
    enc = hf(full, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    bos = hf.bos_token_id
    if bos is not None and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
        raise WorkerError("ChatTemplate", "the rendered conversation starts with a doubled BOS token")
    mask = [0] * len(ids)
    for t, (a, _b) in enumerate(offsets):
        for s, e in spans:
            if s <= a < e:
                mask[t] = 1
                break
    full_len, full_sup = len(ids), sum(mask)
    return ids[:max_len], mask[:max_len], full_len, full_sup


def tokenize_split(tokenizer, rows, max_len, split):
    """The split's rows encoded and cut to max_len, how many were cut, and
    the longest row's full length: the training length that holds every
    row, which Go reports beside the count (train results, model card)."""
    data, truncated, lost, empty, longest = [], 0, 0, 0, 0
    for ids, mask, full_len, full_sup in (encode(tokenizer, r, max_len) for r in rows):
        longest = max(longest, full_len)
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
        longest_full_length=longest,
    )
    return data, truncated, longest


def mask_check(tokenizer, rows, data):
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


def pad(data, idx, max_len, gather=False):
    """One batch as loss arguments, and its real token count: (inputs,
    targets, mask) for masked_loss, or with gather (inputs, positions, targets,
    weights) for loss_at, the supervised positions flattened and padded
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


def masked_loss(model, inputs, targets, mask):
    """Mean cross-entropy over the masked positions, and their count."""
    import mlx.core as mx
    import mlx.nn as nn

    logits = model(inputs)
    # MLX's own cross-entropy even with cpumath's kernels in place: the fast
    # one's temporaries raised a step's peak memory from 12.4 to 18.0 GB for
    # 4 s a step (bench/RESULTS.md).
    ce = nn.losses.cross_entropy(logits, targets) * mask
    ntoks = mask.sum()
    return ce.astype(mx.float32).sum() / mx.maximum(ntoks, 1), ntoks


def loss_at(head):
    """masked_loss computing logits only at the gathered positions (see pad):
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


def validation_loss(model, loss_fn, gather, data, batch_size, max_len, max_batches, ranks=None):
    """Token-weighted mean loss over the validation split, batched in
    length order; max_batches > 0 bounds it to the shortest examples.
    With ranks (ranks.Ranks) of several processes each scores its share of
    the batches and the sums are shared; a signal then waits for the end,
    as no rank may leave the sums alone."""
    import mlx.core as mx

    model.eval()
    order = sorted(range(len(data)), key=lambda i: (len(data[i][0]), i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if max_batches > 0:
        batches = batches[:max_batches]
    alone = ranks is None or ranks.size == 1
    if not alone:
        batches = ranks.share(batches)
    total, ntok = mx.array(0.0), mx.array(0.0)
    for idx in batches:
        if alone and stop_requested():
            break
        args, _ = pad(data, idx, max_len, gather)
        loss, n = loss_fn(model, *args)
        total, ntok = total + loss * n, ntok + n
        mx.eval(total, ntok)
    if not alone:
        total, ntok = ranks.sum(total), ranks.sum(ntok)
    model.train()
    return (total / mx.maximum(ntok, 1)).item(), int(ntok.item())
