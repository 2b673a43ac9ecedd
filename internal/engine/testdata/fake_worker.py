"""Stand-in worker for lifecycle tests: runs with any python3, no mlx."""
import json
import os
import subprocess
import sys
import time

mode = sys.argv[1]
if mode == "spawn":
    # A grandchild that ignores nothing and sleeps; both pids are reported so
    # the test can check that cancelling reaches the whole group.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    print(json.dumps({"event": "progress", "pid": os.getpid(), "child": child.pid}), flush=True)
    time.sleep(300)
elif mode == "stubborn":
    # Ignores SIGTERM, so only the SIGKILL after the grace period ends it.
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(json.dumps({"event": "progress", "pid": os.getpid()}), flush=True)
    time.sleep(300)
elif mode == "holder":
    # Ignores SIGTERM and leaves a grandchild, also deaf to SIGTERM, holding
    # the stdout pipe: a reader waiting for EOF waits for both.
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c",
                              "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
    print(json.dumps({"event": "progress", "pid": os.getpid(), "child": child.pid}), flush=True)
    time.sleep(300)
elif mode == "crash":
    sys.stderr.write("loading model\nTraceback (most recent call last):\nValueError: bad weights\n")
    sys.exit(3)
elif mode == "env":
    print(json.dumps({"event": "result", "env": dict(os.environ)}), flush=True)
elif mode == "garbage":
    print("this is not json", flush=True)
