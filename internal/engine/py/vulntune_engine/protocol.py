"""The JSON-lines protocol every vulntune engine module speaks.

Events go to the real stdout, one JSON object per line; fd 1 is pointed at
stderr so a print() in any library lands in the log instead of the event
stream. Exactly one "result" (exit 0) or one "error" (exit non-zero) ends
the stream.
"""

import json
import os
import sys
import traceback

_events = None


def emit(event, **fields):
    fields["event"] = event
    _events.write(json.dumps(fields, ensure_ascii=False) + "\n")
    _events.flush()


class WorkerError(Exception):
    """An error with a kind vulntune can act on, reported without a traceback."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class Request(dict):
    """A request from Go. Every setting comes from Go's options, which hold
    the one table of defaults: a key Go did not send is an error, not a
    second default chosen here. Optional inputs (an adapter, messages) are
    read with .get()."""

    def __missing__(self, key):
        raise WorkerError("BadRequest", f"the request lacks {key!r}: vulntune and its engine disagree (run `vulntune setup`)")


def open_events():
    global _events
    _events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def run(fn, interrupted_kind=None):
    """Run fn(request) on the JSON request from stdin and emit its result,
    or an error event: exit 2 for a WorkerError, 130 for interrupted_kind,
    1 (with the traceback in the log) for anything else."""
    try:
        # The top level only: nested dicts (chat messages) reach
        # templates that expect a KeyError for a missing key.
        req = Request(json.load(sys.stdin))
        emit("result", **fn(req))
        return 0
    except WorkerError as e:
        emit("error", type=e.kind, message=str(e))
        return 130 if interrupted_kind is not None and e.kind == interrupted_kind else 2
    except Exception as e:
        traceback.print_exc()
        emit("error", type=type(e).__name__, message=str(e))
        return 1


def finish(code):
    """Exit with code, skipping interpreter teardown.

    MLX 0.32 leaves the cleanup of its stream threads to the program
    (mx.clear_streams() at the end of every thread) and what still runs at
    teardown can crash or hang intermittently on Linux (ml-explore/mlx#4110,
    #4327). A child that never exits stalls vulntune after its result is in,
    so once the result or error event is out nothing is left to tear down:
    every file the modules write is closed by a with block, and the streams
    are flushed here."""
    for f in (_events, sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:
            pass
    os._exit(code)


def serve(ops, name):
    """main() of a module with several ops, chosen by argv[1]."""
    open_events()
    if len(sys.argv) != 2 or sys.argv[1] not in ops:
        emit("error", type="BadRequest", message=f"usage: {name} {{{','.join(ops)}}}")
        return 2
    return run(ops[sys.argv[1]])


_stop_signal = None


def _on_signal(signum, _frame):
    global _stop_signal
    import signal

    _stop_signal = signal.Signals(signum).name


def install_stop_signals():
    """Turn SIGTERM and SIGINT into a request to stop at the next safe point
    (between training steps and validation batches) instead of an abrupt
    exit; stop_requested() says whether one came."""
    import signal

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def stop_requested():
    """The name of the signal that asked this process to stop, or None."""
    return _stop_signal
