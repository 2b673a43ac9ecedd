"""`vulntune serve --grounded`: mlx-lm's own OpenAI-compatible server, with
every completion decoded under grounded decoding (grounded.py).

`python -I run.py vulntune_engine.serve [mlx_lm.server flags]` runs
mlx_lm.server's main() (the same flags, HTTP handling, batching, prompt
cache and streaming as `python -m mlx_lm server`) with three hooks:

  GroundedHandler     an APIHandler that gives each completion request a
                      Grounding: its ground is the request's prompt text (a
                      chat's message contents joined by newlines, as Go's
                      chat.Prompt joins them; a text completion's prompt),
                      plus the optional vulntune request field
                      "vulntune_ground", more text the answer may take
                      identifiers from (a finding's facts, say). The final
                      response object (the last chunk when streaming)
                      carries "vulntune_grounding": the processor's stats().
  GroundedGenerator   a ResponseGenerator that hands the Grounding on with
                      the request's GenerationArguments.
  _make_logits_processors
                      mlx_lm.server's function, which its generation thread
                      calls for every request, batched or not, wrapped to
                      append the request's Grounding's GroundedProcessor
                      last (after logit_bias and the penalties, so it
                      judges the logits the sampler will see), made there
                      with the tokenizer of the model that decodes it.

Decoding is greedy (grounded.py's greedy mode) when the request's
temperature is 0; otherwise every passing candidate of the top 64 is kept.

With `--vulntune-loop-guard JSON` (the settings of the ops' "loop_guard",
taken out of the arguments before mlx_lm.server reads them) each grounded
request also gets the loop guard (repeat.CycleGuard), placed before its
GroundedProcessor as the ops place it: a token that would complete a loop
is masked unless the request's text holds that run, and once the guard
has given up the answer is ended (only end of sequence is left), as the
ops end it. The final response object then carries "vulntune_loop_guard",
the guard's stats().
"""

import json
import sys


def message_text(content):
    """A message's content as the chat template gets it
    (mlx_lm.server.process_message_content): a string, the text parts of a
    list joined, or "" for none."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content)


def request_ground(body):
    """The ground of one request body: a chat's message contents joined by
    newlines, or a text completion's prompt, then "vulntune_ground" when
    the request names it."""
    if "messages" in body:
        text = "\n".join(message_text(m.get("content")) for m in body["messages"])
    else:
        prompt = body.get("prompt", "")
        text = prompt if isinstance(prompt, str) else ""
    extra = body.get("vulntune_ground")
    if extra is None:
        return text
    if not isinstance(extra, str):
        raise ValueError("vulntune_ground must be a string")
    return text + "\n" + extra


class Grounding:
    """One request's grounded decoding: the ground, and the
    GroundedProcessor made for it on the generation thread (stats() is None
    until then), the logits processor mlx-lm calls. mlx-lm computes one step
    past the answer's last token (the max_tokens-th, or end of sequence)
    and never sends its token; the processor leaves that step alone
    (GroundedProcessor.past_end), so it counts no replacement a client did
    not see."""

    def __init__(self, ground, greedy, loop_guard=None):
        self.ground = ground
        self.greedy = greedy
        self.loop_guard = loop_guard  # repeat.guard_from's spec, or None
        self.processor = None
        self.guard = None

    def make(self, tokenizer, max_tokens):
        """The request's processors, in the order they run: the loop guard
        (when the server has one), then the GroundedProcessor."""
        from .grounded import GroundedProcessor

        eos = list(tokenizer.eos_token_ids)
        self.processor = GroundedProcessor(tokenizer, self.ground, greedy=self.greedy, eos_ids=eos, max_tokens=max_tokens)
        if self.loop_guard is None:
            return [self.processor]
        from .repeat import guard_for

        # The runs an answer may copy are those of the request's text: the
        # ground, tokenized alone (the chat template's tokens around it
        # aside).
        self.guard = guard_for(self.loop_guard, tokenizer.encode(self.ground), max_tokens, tokenizer)
        return [_EndWhenGivenUp(self.guard, eos), self.processor]

    def stats(self):
        return self.processor.stats() if self.processor is not None else None


class _EndWhenGivenUp:
    """The loop guard as a server's processor: the ops end an answer whose
    guard gave up themselves; a server has only the logits, so from then on
    end of sequence is the one token left."""

    def __init__(self, guard, eos_ids):
        self.guard = guard
        self.eos = sorted(eos_ids)

    def __call__(self, context, logits):
        import mlx.core as mx

        logits = self.guard(context, logits)
        if not self.guard.gave_up or not self.eos:
            return logits
        mask = mx.full((logits.shape[-1],), -float("inf"), dtype=logits.dtype)
        mask[mx.array(self.eos)] = 0
        return logits + mask


def grounded_processors(make, provider):
    """make (mlx_lm.server._make_logits_processors) with the processor of
    the request's Grounding appended when its arguments carry one.
    provider is the server's ModelProvider: the wrapper runs on the
    generation thread after the request's model is loaded."""

    def wrapped(args):
        procs = list(make(args))
        g = getattr(args, "vulntune_grounding", None)
        if g is not None:
            procs.extend(g.make(provider.tokenizer, args.max_tokens))
        return procs

    return wrapped


def _classes(server, loop_guard=None):
    """GroundedHandler and GroundedGenerator over the given mlx_lm.server
    module's classes; made on use, so importing this module does not load
    mlx_lm.server (mlx, numpy, huggingface_hub)."""

    class GroundedHandler(server.APIHandler):
        def do_POST(self):
            self.grounding = None
            super().do_POST()

        def _ground(self):
            # Called from the request factories, where a raised error
            # answers 400 with its message.
            temp = self.temperature
            self.grounding = Grounding(request_ground(self.body), greedy=temp == 0, loop_guard=loop_guard)
            return self.grounding

        def handle_chat_completions(self):
            request = super().handle_chat_completions()
            request.vulntune_grounding = self._ground()
            return request

        def handle_text_completions(self):
            request = super().handle_text_completions()
            request.vulntune_grounding = self._ground()
            return request

        def generate_response(self, text, finish_reason, *args, **kwargs):
            resp = super().generate_response(text, finish_reason, *args, **kwargs)
            if finish_reason is not None and self.grounding is not None:
                stats = self.grounding.stats()
                if stats is not None:
                    resp["vulntune_grounding"] = stats
                if self.grounding.guard is not None:
                    resp["vulntune_loop_guard"] = self.grounding.guard.stats()
            return resp

    class GroundedGenerator(server.ResponseGenerator):
        def generate(self, request, generation_args, progress_callback=None):
            generation_args.vulntune_grounding = getattr(request, "vulntune_grounding", None)
            return super().generate(request, generation_args, progress_callback)

    return GroundedHandler, GroundedGenerator


def install(server, loop_guard=None):
    """Hook grounded decoding into the mlx_lm.server module: its run()
    starts GroundedGenerator behind GroundedHandler. mlx_lm.server.run
    ignores its handler_class (it calls _run_http_server without it), so
    run is replaced; vulntune never runs the server distributed, the one
    other thing run() does."""
    handler, generator = _classes(server, loop_guard)

    def run(host, port, model_provider, **_):
        _ends_on_load(model_provider)
        server._make_logits_processors = grounded_processors(server._make_logits_processors, model_provider)
        prompt_cache = server.LRUPromptCache(model_provider.cli_args.prompt_cache_size)
        server._run_http_server(host, port, generator(model_provider, prompt_cache), handler_class=handler)

    server.run = run


def _ends_on_load(provider):
    """Every tokenizer the server loads ends answers at its special tokens
    (chat.answer_ends), as vulntune's own ops do: the server builds its
    stop sequences from the tokenizer's end-of-sequence set per request."""
    from .chat import answer_ends

    load = provider._load

    def loaded(*args, **kwargs):
        out = load(*args, **kwargs)
        answer_ends(provider.tokenizer)
        return out

    provider._load = loaded
    if provider.tokenizer is not None:
        answer_ends(provider.tokenizer)


def loop_guard_arg(argv):
    """argv without `--vulntune-loop-guard JSON`, and the guard's spec
    (repeat.guard_from's) or None; a bad value raises ValueError."""
    from .repeat import guard_from

    if "--vulntune-loop-guard" not in argv:
        return argv, None
    i = argv.index("--vulntune-loop-guard")
    if i + 1 >= len(argv):
        raise ValueError("--vulntune-loop-guard needs the guard's settings as JSON")
    try:
        spec = guard_from({"loop_guard": json.loads(argv[i + 1])})
    except Exception as e:
        raise ValueError(f"--vulntune-loop-guard {argv[i + 1]!r}: {e}") from e
    if spec is None:
        raise ValueError(f"--vulntune-loop-guard {argv[i + 1]!r}: no settings")
    return argv[:i] + argv[i + 2 :], spec


def main():
    from mlx_lm import server

    try:
        sys.argv, loop_guard = loop_guard_arg(sys.argv)
    except ValueError as e:
        print(f"vulntune serve: {e}", file=sys.stderr)
        return 2
    install(server, loop_guard)
    server.main()


if __name__ == "__main__":
    sys.exit(main())
