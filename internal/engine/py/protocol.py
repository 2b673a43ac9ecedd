"""The JSON-lines protocol every vulntune engine script speaks.

vulntune writes each script as this file followed by the script's own code
(python -I leaves the script's directory off sys.path, so a shared module
could not be imported). Events go to the real stdout, one JSON object per
line; fd 1 is pointed at stderr so a print() in any library lands in the log
instead of the event stream.
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
        req = json.load(sys.stdin)
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
    every file the scripts write is closed by a with block, and the streams
    are flushed here."""
    for f in (_events, sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:
            pass
    os._exit(code)


def serve(ops, name):
    """main() of a script with several ops, chosen by argv[1]."""
    open_events()
    if len(sys.argv) != 2 or sys.argv[1] not in ops:
        emit("error", type="BadRequest", message=f"usage: {name} {{{','.join(ops)}}}")
        return 2
    return run(ops[sys.argv[1]])
