import json

import pytest

from vulntune_engine import chat
from vulntune_engine.protocol import WorkerError


class Inner:
    chat_template = None


class FakeTokenizer:
    """Renders a conversation as role-tagged words, one token per word."""

    def __init__(self, has_template=True):
        self.has_chat_template = has_template
        self._tokenizer = Inner()

    def apply_chat_template(self, messages, add_generation_prompt=False, tokenize=False):
        words = []
        for m in messages:
            words += [f"<{m['role']}>"] + m["content"].split() + ["<end>"]
        if add_generation_prompt:
            words.append("<assistant>")
        return list(range(len(words))) if tokenize else " ".join(words)


def test_the_tokenizer_template_comes_first(tmp_path):
    assert chat.require_chat_template(str(tmp_path), FakeTokenizer()) == "tokenizer"


def test_a_recorded_template_serves_every_module(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps({"chat_template": "{{ x }}", "chat_template_source": "olmo2-instruct"}))
    tok = FakeTokenizer(has_template=False)
    assert chat.require_chat_template(str(tmp_path), tok) == "olmo2-instruct"
    assert tok._tokenizer.chat_template == "{{ x }}"


@pytest.mark.parametrize("metadata", [None, "not json", json.dumps(["a list"]), json.dumps({"chat_template": ""})])
def test_no_template_is_refused(tmp_path, metadata):
    if metadata is not None:
        (tmp_path / "metadata.json").write_text(metadata)
    with pytest.raises(WorkerError) as e:
        chat.require_chat_template(str(tmp_path), FakeTokenizer(has_template=False))
    assert e.value.kind == "NoChatTemplate"


def test_prompt_turns_stop_before_the_last_answer():
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"},
            {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"},
            {"role": "assistant", "content": "a2"}]
    assert chat.prompt_turns(msgs) == msgs[:4]
    with pytest.raises(WorkerError):
        chat.prompt_turns(msgs[:2])


def test_assistant_mask_covers_every_answer():
    msgs = [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "a b"},
            {"role": "user", "content": "again"}, {"role": "assistant", "content": "c"}]
    ids, mask = chat.assistant_mask(FakeTokenizer(), msgs)
    # <user> hi there <end> <assistant> a b <end> <user> again <end> <assistant> c <end>
    assert len(ids) == 14
    assert mask == [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1]


def _wrapped(eos="<|im_end|>"):
    """mlx-lm's TokenizerWrapper around a four-word tokenizer shaped like
    SmolLM2's: <|endoftext|> is its unk, <|im_start|> its bos."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "word": 3}
    inner = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    hf = PreTrainedTokenizerFast(tokenizer_object=inner, eos_token=eos, bos_token="<|im_start|>", unk_token="<|endoftext|>")
    return TokenizerWrapper(hf)


def test_answer_ends_at_every_special_token():
    tok = _wrapped()
    assert set(tok.eos_token_ids) == {2}
    assert chat.answer_ends(tok) is tok
    # The document separator and a new turn end an answer as <|im_end|>
    # does; a word does not.
    assert set(tok.eos_token_ids) == {0, 1, 2}
    chat.answer_ends(tok)  # idempotent: the server calls it on every load
    assert set(tok.eos_token_ids) == {0, 1, 2}
