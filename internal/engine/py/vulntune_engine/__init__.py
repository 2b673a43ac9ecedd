"""vulntune's ML engine: the Python that Go drives.

Every module that runs as a process (worker, train, evaluate, hub) reads one
JSON request on stdin and speaks the JSON-lines protocol of protocol.py on
stdout. Go installs this package under the data dir, named by its checksum,
and starts a module with `python -I run.py vulntune_engine.<module> OP`.

Modules:
  protocol  the event stream, errors, the request, exit without teardown
  runtime   versions, the MLX backend, which BLAS the process runs on
  chat      the one chat-template policy, assistant-token spans
  cpumath   faster exp-heavy kernels for MLX's CPU backend (x86-64)
  lmhead    the output layer apart from the transformer
  worker    info, blas, generate, perplexity, pull
  data      training data: tokenizing with masks, batch order, padding
  trainer   the LoRA training loop and its checkpoints
  train     the train op: load, LoRA, schedule, loop, fuse
  evaluate  scoring and batched generation; the model check
  hub       the Hugging Face Hub: whoami, publish
"""
