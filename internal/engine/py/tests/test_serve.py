"""`vulntune serve --grounded` (vulntune_engine/serve.py): a request's
ground, and the hooks that put a GroundedProcessor into mlx_lm.server's
decoding and its stats into the response. The server end to end is tested
from Go (internal/engine, TestServeGrounded)."""

import types

import mlx.core as mx
import pytest
from mlx_lm import server

from vulntune_engine import serve
from vulntune_engine.grounded import GroundedProcessor
from vulntune_engine.repeat import GuardSpec


@pytest.mark.parametrize(
    "body,ground",
    [
        (
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "CVE-2021-44228?"}]},
            "Be brief.\nCVE-2021-44228?",
        ),
        # OpenAI content parts: the text parts joined as mlx_lm.server joins
        # them for the chat template; a missing content is "".
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "fix "}, {"type": "text", "text": "1.3.5"}]}]},
            "fix 1.3.5",
        ),
        ({"messages": [{"role": "assistant", "content": None}, {"role": "user", "content": "hi"}]}, "\nhi"),
        ({"messages": [{"role": "user", "content": "Upgrade?"}], "vulntune_ground": "fixed in 1.3.14"}, "Upgrade?\nfixed in 1.3.14"),
        ({"prompt": "Upgrade lib to"}, "Upgrade lib to"),
        ({"prompt": "Upgrade lib to", "vulntune_ground": "1.3.14"}, "Upgrade lib to\n1.3.14"),
    ],
)
def test_request_ground(body, ground):
    assert serve.request_ground(body) == ground


def test_request_ground_refuses_a_ground_that_is_not_text():
    with pytest.raises(ValueError, match="vulntune_ground must be a string"):
        serve.request_ground({"messages": [], "vulntune_ground": ["1.3.14"]})


class ToyTokenizer:
    """Tokens are whole strings; decode joins them; the last is the end."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.eos_token_ids = [len(vocab) - 1]

    def decode(self, ids):
        return "".join(self.vocab[i] for i in ids)


VOCAB = ["<p>", "Upgrade to ", "1.3.", "9", "14", ".", "</s>"]


def test_processors_get_the_requests_grounded_processor_last():
    tok = ToyTokenizer(VOCAB)
    penalty = object()
    make = serve.grounded_processors(lambda args: [penalty], types.SimpleNamespace(tokenizer=tok))
    args = types.SimpleNamespace(max_tokens=5)
    assert make(args) == [penalty]  # a request without grounding keeps mlx-lm's processors

    g = serve.Grounding("Upgrade lib from 1.3.5 to 1.3.14.", greedy=True)
    args.vulntune_grounding = g
    assert g.stats() is None
    procs = make(args)
    assert isinstance(g.processor, GroundedProcessor) and procs == [penalty, g.processor]
    assert g.processor.greedy and g.processor.eos == {6} and g.processor.max_tokens == 5
    proc = procs[-1]

    # The model prefers the invented 1.3.9; the processor makes it 1.3.14.
    context, answer = [0], []
    for prefs in [[1], [2], [3, 4], [5], [6]]:
        logits = [-10.0] * len(VOCAB)
        for r, t in enumerate(prefs):
            logits[t] = 10.0 - r
        tok_id = int(mx.argmax(proc(mx.array(context), mx.array([logits]))[0]).item())
        context.append(tok_id)
        answer.append(tok_id)
    assert tok.decode(answer) == "Upgrade to 1.3.14.</s>"
    assert g.stats() == {"steps": 5, "interventions": 1, "first_intervention": 2, "deep": 0, "stuck": 0}


@pytest.mark.parametrize(
    "max_tokens,answer",
    [
        (3, [1, 2, 3]),  # ends at max_tokens on the invented "9"...
        (9, [1, 2, 4, 6]),  # ...or at end of sequence
    ],
)
def test_the_step_after_the_answers_end_is_left_alone(max_tokens, answer):
    # mlx-lm computes one step past an answer's last token and never sends
    # it: that step's logits pass through unchecked and uncounted.
    # (GroundedProcessor.past_end; test_grounded.py tests it for the ops.)
    g = serve.Grounding("Upgrade lib from 1.3.5 to 1.3.14.", greedy=True)
    (proc,) = g.make(ToyTokenizer(VOCAB), max_tokens)
    context = [0]
    for t in answer:
        proc(mx.array(context), mx.array([[0.0] * len(VOCAB)]))
        context.append(t)
    steps = g.stats()["steps"]
    assert steps == len(answer)
    logits = mx.array([[0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0]])  # "9" on top: "1.3.9" would fail
    assert proc(mx.array(context), logits) is logits
    assert g.stats()["steps"] == steps and g.stats()["interventions"] == 0


def bare_handler(body, temperature, stream=False):
    """A GroundedHandler over mlx_lm.server's APIHandler without a socket:
    the attributes do_POST sets before the hooks run."""
    handler, _ = serve._classes(server)
    h = object.__new__(handler)
    h.body, h.temperature, h.stream = body, temperature, stream
    h.created, h.system_fingerprint, h.requested_model, h.grounding = 0, "fp", "default_model", None
    return h


@pytest.mark.parametrize("stream", [False, True])
def test_handler_grounds_chat_requests_and_reports_on_the_final_object(stream):
    body = {"messages": [{"role": "user", "content": "Upgrade lib from 1.3.5?"}], "vulntune_ground": "fixed in 1.3.14"}
    h = bare_handler(body, 0, stream)
    req = h.handle_chat_completions()
    assert req.vulntune_grounding is h.grounding
    assert h.grounding.ground == "Upgrade lib from 1.3.5?\nfixed in 1.3.14" and h.grounding.greedy
    h.grounding.make(ToyTokenizer(VOCAB), 16)
    counts = () if stream else (7, 2)
    assert "vulntune_grounding" not in h.generate_response("Upgrade", None, *counts)
    final = h.generate_response(" to 1.3.14", "stop", *counts)
    assert final["vulntune_grounding"] == h.grounding.processor.stats()
    assert final["choices"][0]["finish_reason"] == "stop"


def test_handler_grounds_text_completions_sampling_when_warm():
    h = bare_handler({"prompt": "Upgrade lib to"}, 0.7)
    req = h.handle_text_completions()
    assert req.vulntune_grounding.ground == "Upgrade lib to" and not req.vulntune_grounding.greedy


def test_generator_hands_the_grounding_to_the_generation_arguments(monkeypatch):
    _, generator = serve._classes(server)
    seen = []
    monkeypatch.setattr(server.ResponseGenerator, "generate", lambda self, r, a, cb=None: seen.append(a) or "ok")
    gen = object.__new__(generator)
    g = serve.Grounding("ground", greedy=True)
    args = types.SimpleNamespace()
    assert gen.generate(types.SimpleNamespace(vulntune_grounding=g), args) == "ok"
    assert seen == [args] and args.vulntune_grounding is g


def test_install_runs_the_grounded_classes():
    calls = []

    class Generator:
        def __init__(self, provider, cache):
            self.provider, self.cache = provider, cache

    fake = types.SimpleNamespace(
        APIHandler=type("APIHandler", (), {}),
        ResponseGenerator=Generator,
        LRUPromptCache=lambda n: ("cache", n),
        _make_logits_processors=lambda args: [],
        _run_http_server=lambda host, port, gen, handler_class: calls.append((host, port, gen, handler_class)),
    )
    serve.install(fake)

    class Loaded(ToyTokenizer):
        """ToyTokenizer as mlx-lm wraps it, "<p>" one of its special tokens."""

        _tokenizer = types.SimpleNamespace(all_special_ids=[0])

        def add_eos_token(self, t):
            self.eos_token_ids = sorted(set(self.eos_token_ids) | {t})

    provider = types.SimpleNamespace(cli_args=types.SimpleNamespace(prompt_cache_size=10), tokenizer=None)
    provider._load = lambda path: setattr(provider, "tokenizer", Loaded(VOCAB))
    fake.run("127.0.0.1", 8080, provider)
    # The server loads its model on the first request, after run(): the
    # tokenizer it loads then ends answers at its special tokens too.
    provider._load("model")
    assert provider.tokenizer.eos_token_ids == [0, 6]
    ((host, port, gen, handler),) = calls
    assert (host, port) == ("127.0.0.1", 8080)
    assert isinstance(gen, Generator) and type(gen) is not Generator and gen.cache == ("cache", 10)
    assert issubclass(handler, fake.APIHandler) and handler is not fake.APIHandler
    args = types.SimpleNamespace(vulntune_grounding=serve.Grounding("g", greedy=True), max_tokens=8)
    procs = fake._make_logits_processors(args)
    assert isinstance(args.vulntune_grounding.processor, GroundedProcessor)
    assert procs == [args.vulntune_grounding.processor] and procs[0].max_tokens == 8


@pytest.mark.parametrize(
    "argv,rest,spec",
    [
        (["run.py", "--model", "m"], ["run.py", "--model", "m"], None),
        (
            ["run.py", "--vulntune-loop-guard", '{"max_period": 256, "min_repeats": 3, "min_tokens": 16, "max_bans": 12}', "--port", "1"],
            ["run.py", "--port", "1"],
            ((256, 3, 16), 12, [], [], 0, 0, 0, 0),
        ),
        (
            ["run.py", "--vulntune-loop-guard", '{"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": ["**Fix**"]}'],
            ["run.py"],
            ((256, 3, 16), 0, ["**Fix**"], [], 0, 0, 0, 0),
        ),
        (
            ["run.py", "--vulntune-loop-guard",
             '{"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": ["**Fix**", "**Where**"], "lists": ["**Where**"], "line_span": 16, "line_strikes": 4, "word_run": 3, "item_span": 8}'],
            ["run.py"],
            ((256, 3, 16), 0, ["**Fix**", "**Where**"], ["**Where**"], 16, 4, 3, 8),
        ),
    ],
)
def test_loop_guard_arg(argv, rest, spec):
    got_rest, got_spec = serve.loop_guard_arg(argv)
    assert got_rest == rest
    assert got_spec == spec if spec is None else (tuple(got_spec[0]), *got_spec[1:]) == spec


@pytest.mark.parametrize(
    "value,msg",
    [(None, "needs the guard's settings"), ("{", "--vulntune-loop-guard"), ('{"max_period": 0, "min_repeats": 3, "min_tokens": 16}', "max")],
)
def test_loop_guard_arg_refuses_bad_settings(value, msg):
    argv = ["run.py", "--vulntune-loop-guard"] + ([value] if value is not None else [])
    with pytest.raises(ValueError, match=msg):
        serve.loop_guard_arg(argv)


class EncodingTokenizer(ToyTokenizer):
    def encode(self, text):
        return []  # the request's text holds no run of the answer's


LOOP_VOCAB = ["<p>", "go ", "get ", "x", "</s>"]


def test_grounded_request_gets_the_loop_guard_first_and_ends_when_it_gives_up():
    tok = EncodingTokenizer(LOOP_VOCAB)
    g = serve.Grounding("go get x", greedy=True, loop_guard=GuardSpec((2, 3, 4), 2, []))
    guard, proc = g.make(tok, 20)
    assert isinstance(proc, GroundedProcessor) and guard.guard is g.guard
    # The model would loop "go get go get …"; the guard masks the token
    # completing the third copy, twice, then gives up: end of sequence is
    # all that is left.
    context, answer = [0], []
    for _ in range(12):
        logits = mx.array([[0.0, 9.0 if len(answer) % 2 == 0 else 0.0, 9.0 if len(answer) % 2 else 0.0, 5.0, 1.0]])
        out = proc(mx.array(context), guard(mx.array(context), logits))
        t = int(mx.argmax(out[0]).item())
        context.append(t)
        answer.append(t)
        if t == 4:
            break
    assert answer[-1] == 4 and g.guard.gave_up
    assert g.guard.stats()["bans"] == 2
    h = bare_handler({"prompt": "go get x"}, 0)
    h.request_id, h.object_type, h.grounding = "cmpl-1", "text_completion", g
    final = h.generate_response(tok.decode(answer), "stop", 3, len(answer))
    assert final["vulntune_loop_guard"] == g.guard.stats()


def test_handler_gives_each_grounding_the_servers_loop_guard():
    spec = ((256, 3, 16), 12, ["**Fix**"])
    handler, _ = serve._classes(server, spec)
    h = object.__new__(handler)
    h.body, h.temperature, h.stream = {"prompt": "Upgrade lib to"}, 0, False
    h.created, h.system_fingerprint, h.requested_model, h.grounding = 0, "fp", "default_model", None
    assert h.handle_text_completions().vulntune_grounding.loop_guard == spec
