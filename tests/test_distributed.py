"""Data-parallel training proven equal to one process, with real processes: gloo on 127.0.0.1.

Each case starts `world` processes (torch.multiprocessing.spawn), each of which trains its
wrapped backend epoch by epoch with training.fit and saves the parameters after every epoch;
the test compares every one of them with the same training in this single process, in float64.
The naive setups (DistributedDataParallel's plain mean over ranks, DistributedSampler's padding
of uneven shares, each rank's class-weighted mean) are run the same way and shown to land
elsewhere, so the comparison can fail.
"""

import functools
import shutil
import tempfile
import time
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.utils.data import DistributedSampler

import iris_torch
from iris_torch.cli.bench import free_port
from iris_torch.distributed import DataParallel, DDPStep, shard_of, share, summed
from iris_torch.training import Shard

N, K = 4, 3
LR, L2 = 0.5, 0.01
CLASS_WEIGHT = torch.tensor([0.5, 3.0, 1.25], dtype=torch.float64)  # per-class s, none 1
TIMEOUT_S = 120  # a rank that never arrives fails the case instead of hanging the suite


def data(rows: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, N, generator=generator, dtype=torch.float64)
    y = torch.randint(0, K, (rows,), generator=generator)
    return X, y


class PlainMeanDDP(DDPStep):
    """The naive DDP step: each rank's mean cross-entropy, averaged over the ranks unweighted."""

    def step(self, X_mine, y_mine):
        loss = self.loss(X_mine, y_mine)
        self.model.optimizer.zero_grad()
        self.model.cross_entropy(self.ddp(X_mine), y_mine).backward()
        self.model.optimizer.step()
        return loss


class WeightedMeanDDP(DDPStep):
    """DDPStep with each rank's loss nn.CrossEntropyLoss(weight=s)'s default: divided by the
    rank's sum of weights instead of its rows (see backends/nn_module.py)."""

    def step(self, X_mine, y_mine):
        (loss,), m = self.combined([self.local_loss(X_mine, y_mine)], len(y_mine))
        self.model.optimizer.zero_grad()
        weighted_mean = nn.functional.cross_entropy(
            self.ddp(X_mine), y_mine, weight=self.model.class_weight
        )
        (weighted_mean * (self.world * len(y_mine) / m)).backward()
        self.model.optimizer.step()
        return loss


def contiguous(rows, world, rank):
    """Each rank a contiguous share of the rows."""
    return shard_of(rows).positions


def scattered(rows, world, rank):
    """Each rank rows from all over the set, as reading several files gives after the split."""
    owner = torch.randperm(rows, generator=torch.Generator().manual_seed(1)) % (world + 1)
    return torch.nonzero(owner.clamp(max=world - 1) == rank).flatten()  # rank world-1: twice


def padded(rows, world, rank):
    """DistributedSampler's share: it repeats rows so that every rank has as many."""
    return torch.tensor(list(DistributedSampler(range(rows), world, rank, shuffle=False)))


WAYS = {  # name: (wrapper, which rows each rank holds, the model's class weights)
    "by hand": (DataParallel, contiguous, None),
    "by hand, scattered rows": (DataParallel, scattered, None),
    "ddp": (DDPStep, contiguous, None),
    "ddp, plain mean": (PlainMeanDDP, contiguous, None),
    "ddp, padded shares": (PlainMeanDDP, padded, None),
    "by hand, class weights": (DataParallel, contiguous, CLASS_WEIGHT),
    "ddp, class weights": (DDPStep, contiguous, CLASS_WEIGHT),
    "ddp, class-weighted mean": (WeightedMeanDDP, contiguous, CLASS_WEIGHT),
}


# (world, way, backend, rows, epochs, batch_size): every case the tests below look at. Each world
# size starts its processes once and runs all of its cases in them, in this order: starting
# processes (each imports torch) takes longer than the training.
CASES = [
    (2, "by hand", "manual", 120, 3, None),
    (3, "by hand", "manual", 120, 3, None),
    (3, "by hand", "manual", 120, 3, 16),
    *((3, "by hand", backend, 50, 2, None) for backend in iris_torch.BACKENDS),
    (7, "by hand", "manual", 120, 3, None),  # shares of 18 and 17 rows
    (7, "by hand", "manual", 120, 3, 16),  # 0 to 5 rows of a batch on a rank, often none
    (3, "by hand, scattered rows", "manual", 120, 3, None),
    (3, "by hand, scattered rows", "autograd", 120, 3, 16),
    (7, "ddp", "nn_module", 120, 3, None),
    (7, "ddp", "nn_module", 120, 3, 16),
    (7, "ddp, plain mean", "nn_module", 120, 3, None),
    (7, "ddp, padded shares", "nn_module", 120, 3, None),
    # Class weights. A batch of 8 of 50 rows gives a rank 0 to 8 of them, often lacking a class.
    (2, "by hand, class weights", "manual", 120, 3, None),
    (2, "by hand, class weights", "manual", 120, 3, 16),
    *((3, "by hand, class weights", backend, 50, 2, 8) for backend in iris_torch.BACKENDS),
    (3, "ddp, class weights", "nn_module", 120, 3, None),
    (3, "ddp, class weights", "nn_module", 50, 2, 8),
    (3, "ddp, class-weighted mean", "nn_module", 120, 3, None),
]


def model_of(case):
    """The case's backend, with the class weights of its way: the same in every process."""
    _, way, backend, _, _, _ = case
    return iris_torch.make_backend(
        backend, N, K, lr=LR, l2=L2, dtype=torch.float64, class_weight=WAYS[way][2]
    )


def trajectory(model, X, y, epochs, batch_size, shard=None):
    """The parameters after each epoch (each epoch's batch order seeded with its number)."""
    params = []
    for epoch in range(epochs):
        iris_torch.fit(model, X, y, epochs=1, batch_size=batch_size, seed=epoch, shard=shard)
        params.append(model.get_params())
    return params


def rank_main(rank, world, port, folder):
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=timedelta(seconds=TIMEOUT_S),
    )
    try:
        torch.set_num_threads(1)
        for index, case in enumerate(CASES):
            size, way, _, rows, epochs, batch_size = case
            if size == world:
                X, y = data(rows)
                wrapper, holds, _ = WAYS[way]
                mine = holds(rows, world, rank)
                shard = Shard(mine, rows, summed)
                run = trajectory(
                    wrapper(model_of(case)), X[mine], y[mine], epochs, batch_size, shard
                )
                torch.save(run, f"{folder}/{index}-{rank}.pt")
    finally:
        dist.destroy_process_group()


@functools.cache
def runs_of(world: int) -> dict:
    """{case: every rank's trajectory} for the cases of `world` ranks, run once per session."""
    folder = tempfile.mkdtemp(prefix=f"ranks{world}-")
    ranks = mp.start_processes(
        rank_main, (world, free_port(), folder), nprocs=world, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not ranks.join(max(deadline - time.monotonic(), 0)):  # one rank at a time; raises
        if time.monotonic() >= deadline:  # if a rank failed
            for process in ranks.processes:
                process.kill()
            pytest.fail(f"the {world} ranks did not finish within {TIMEOUT_S} s")
    runs = {
        case: [torch.load(f"{folder}/{index}-{rank}.pt") for rank in range(world)]
        for index, case in enumerate(CASES)
        if case[0] == world
    }
    shutil.rmtree(folder)
    return runs


def single(case):
    _, _, _, rows, epochs, batch_size = case
    X, y = data(rows)
    return trajectory(model_of(case), X, y, epochs, batch_size)


def assert_same(runs, reference):
    for run in runs:
        for got, expected in zip(run, reference, strict=True):
            for key in expected:
                torch.testing.assert_close(got[key], expected[key], rtol=1e-10, atol=1e-12)


def cases(way, backend=None):
    return [c for c in CASES if c[1] == way and backend in (None, c[2])]


def case_id(case):
    world, _, backend, rows, _, batch_size = case
    batches = "full batch" if batch_size is None else f"batches of {batch_size}"
    return f"{world} ranks, {backend}, {rows} rows, {batches}"


def test_shares_cover_the_rows_once_and_differ_by_at_most_one():
    for rows in range(0, 30):
        for world in range(1, 9):
            shares = [share(rows, world, rank) for rank in range(world)]
            covered = [i for s in shares for i in range(s.start, s.stop)]
            assert covered == list(range(rows))
            sizes = [s.stop - s.start for s in shares]
            assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    "case", cases("by hand", "manual") + cases("by hand, scattered rows"), ids=case_id
)
def test_by_hand_every_epoch_is_the_single_process_one(case):
    assert_same(runs_of(case[0])[case], single(case))


@pytest.mark.parametrize("case", [c for c in cases("by hand") if c[3] == 50], ids=lambda c: c[2])
def test_every_backend_trains_data_parallel_through_the_one_wrapper(case):
    assert_same(runs_of(case[0])[case], single(case))


@pytest.mark.parametrize("case", cases("ddp"), ids=case_id)
def test_ddp_weighted_by_rows_is_the_single_process_run(case):
    assert_same(runs_of(case[0])[case], single(case))


@pytest.mark.parametrize("case", cases("by hand, class weights"), ids=case_id)
def test_class_weights_by_hand_every_epoch_is_the_single_process_one(case):
    assert_same(runs_of(case[0])[case], single(case))


@pytest.mark.parametrize("case", cases("ddp, class weights"), ids=case_id)
def test_class_weights_through_ddp_every_epoch_is_the_single_process_one(case):
    assert_same(runs_of(case[0])[case], single(case))


def assert_ranks_agree_on_another_model(case):
    runs, reference = runs_of(case[0])[case], single(case)
    for run in runs:  # all ranks agree with each other, and not with the single process
        torch.testing.assert_close(run[-1]["weight"], runs[0][-1]["weight"], rtol=0, atol=0)
    assert not torch.allclose(runs[0][-1]["weight"], reference[-1]["weight"], rtol=1e-6)


@pytest.mark.parametrize(
    "case", cases("ddp, plain mean") + cases("ddp, padded shares"), ids=lambda c: c[1]
)
def test_the_naive_ddp_setups_train_another_model_on_uneven_shares(case):
    assert_ranks_agree_on_another_model(case)


@pytest.mark.parametrize("case", cases("ddp, class-weighted mean"), ids=case_id)
def test_each_ranks_class_weighted_mean_trains_another_model_even_on_equal_shares(case):
    """40 rows on each of 3 ranks, but each rank's weights add up to another sum."""
    assert_ranks_agree_on_another_model(case)
