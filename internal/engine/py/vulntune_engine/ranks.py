"""Data-parallel training in several processes on one machine.

On a CPU, MLX runs its element-wise ops, the attention's small products and
the optimizer on one thread, and OpenBLAS's second thread mostly waits: a
training step of SmolLM2-135M is as fast with one OpenBLAS thread as with
two (bench/RESULTS.md). Two processes, each with one thread and half of
every batch, keep both cores on their own work. They meet once per step,
in an all-reduce of the LoRA gradients (MLX's ring backend over
localhost: Go writes the hostfile and sets MLX_RANK), so the update is the
one a single process would make from the whole batch: each rank's
gradient of its mean loss, weighted by its share of the batch's
supervised tokens, summed.

Rank 0 is the trainer vulntune talks to: it reports, checkpoints, keeps
the best adapter and fuses. The other ranks compute and follow."""

from .protocol import WorkerError, stop_requested


class Ranks:
    """This process's place in a group of size processes (1: alone)."""

    def __init__(self, size):
        self.size, self.rank, self.group = max(1, int(size)), 0, None
        if self.size == 1:
            return
        import mlx.core as mx

        if not mx.distributed.is_available():
            raise WorkerError("Distributed", "this MLX build has no distributed backend; train in one process "
                              "(VULNTUNE_ENGINE_WORKERS=1)")
        group = mx.distributed.init(strict=True, backend="ring")
        if group.size() != self.size:
            raise WorkerError("Distributed", f"the ring has {group.size()} processes, the request {self.size}")
        self.group, self.rank = group, group.rank()

    @property
    def leader(self):
        """Whether this process reports, checkpoints and fuses."""
        return self.rank == 0

    def share(self, idx):
        """This rank's rows of a batch: every size-th from its rank on."""
        return idx[self.rank :: self.size]

    def sum(self, x):
        """x summed over the ranks (x itself when alone)."""
        if self.group is None:
            return x
        import mlx.core as mx

        return mx.distributed.all_sum(x, group=self.group)

    def stop(self):
        """The signal that asked any rank to stop, or None. Every rank must
        call it at the same point: it is a collective, so all of them leave
        the loop after the same step and none waits for a partner that
        has gone."""
        own = stop_requested()
        if self.group is None:
            return own
        import mlx.core as mx

        asked = self.sum(mx.array(1.0 if own else 0.0)).item() > 0
        return (own or "SIGTERM") if asked else None


def supervised(data, idx):
    """The supervised (loss) positions of rows idx: their mask after the
    first token, as pad() shifts it."""
    return sum(sum(data[i][1][1:]) for i in idx)
