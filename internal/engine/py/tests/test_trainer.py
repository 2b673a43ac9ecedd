import pytest

from vulntune_engine import train, trainer
from vulntune_engine.protocol import Request, WorkerError


def request(**over):
    req = dict(steps=4, examples=8, batch_size=2, max_seq_length=64, eval_steps=2, eval_batches=0, save_steps=2,
               checkpoint_seconds=60.0, patience=0, seed=1, work_dir="/tmp/x", fingerprint="f", compile=False, ranks=1)
    req.update(over)
    return Request(req)


def test_args_come_from_the_request_only():
    args = trainer.TrainArgs.from_request(request())
    assert args.steps == 4 and args.checkpoint_seconds == 60.0
    req = request()
    del req["patience"]
    with pytest.raises(WorkerError) as e:
        trainer.TrainArgs.from_request(req)
    assert "patience" in str(e.value)


def test_schedule_warms_up_then_decays_to_the_floor():
    s = train.make_schedule(1e-3, 2, 10, 0.1)
    values = [float(s(i).item()) for i in range(11)]
    assert values[0] < values[1] < values[2] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(values[2:], values[3:]))
    assert values[10] == pytest.approx(1e-4, rel=1e-3)


def test_dtype_auto_is_float32_on_the_cpu():
    assert train.resolve_dtype("auto", "cpu") == "float32"
    assert train.resolve_dtype("auto", "metal") == "bfloat16"
    with pytest.raises(WorkerError):
        train.resolve_dtype("int8", "cpu")


def test_a_checkpoint_restores_exactly(tmp_path, events):
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 4)

        def __call__(self, x):
            return self.layer(x)

    mx.random.seed(0)
    model = Tiny()
    opt = optim.AdamW(learning_rate=1e-2)
    opt.init(model.trainable_parameters())
    loss_and_grad = nn.value_and_grad(model, lambda m, x: (m(x) ** 2).mean())
    x = mx.ones((2, 4))
    for _ in range(3):
        _, g = loss_and_grad(model, x)
        opt.update(model, g)
    mx.eval(model.parameters(), opt.state)
    args = trainer.TrainArgs.from_request(request(work_dir=str(tmp_path)))
    counters = trainer.new_counters()
    counters["step"] = 3
    trainer.save_checkpoint(args, model, opt, counters)

    mx.random.seed(1)
    fresh, fresh_opt = Tiny(), optim.AdamW(learning_rate=1e-2)
    state = trainer.restore_checkpoint(args, fresh, fresh_opt)
    assert state["step"] == 3
    for (k, a), (_, b) in zip(sorted(trainer.adapter_weights(model).items()), sorted(trainer.adapter_weights(fresh).items())):
        assert mx.array_equal(a, b), k
    other = trainer.TrainArgs.from_request(request(work_dir=str(tmp_path), fingerprint="other"))
    with pytest.raises(WorkerError) as e:
        trainer.restore_checkpoint(other, Tiny(), optim.AdamW(learning_rate=1e-2))
    assert e.value.kind == "ResumeMismatch"
