"""GHM-C: binning, EMA recursion, buffers, modes, masking, per-aspect, distributed."""

from __future__ import annotations

import math
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from acsa.losses import GHMCLoss, ghm_bin_index
from acsa.losses.compat import GHM_Loss, MultiLabelGHM_Loss


def naive_ghm(logits, targets, mask, ema, bins, momentum, per_aspect, use_sigmoid=False):
    """One training step of GHM-C in float64 Python loops; returns (mean loss, new ema).

    The mean is over valid cells, as for every loss (the sigmoid form sums over classes).
    """
    b, a, c = logits.shape
    samples = []  # (scope, g, ce)
    cells = 0
    for i in range(b):
        for k in range(a):
            if mask is not None and not mask[i, k]:
                continue
            cells += 1
            scope = k if per_aspect else 0
            row = [float(v) for v in logits[i, k]]
            t = int(targets[i, k])
            if use_sigmoid:
                for j in range(c):
                    p = 1 / (1 + math.exp(-row[j]))
                    y = 1.0 if j == t else 0.0
                    ce = -(y * math.log(p) + (1 - y) * math.log(1 - p))
                    samples.append((scope, abs(p - y), ce))
            else:
                z = sum(math.exp(v) for v in row)
                p = math.exp(row[t]) / z
                samples.append((scope, 1 - p, -math.log(p)))
    scopes = len(ema)
    counts = [[0] * bins for _ in range(scopes)]
    for s, g, _ in samples:
        counts[s][min(int(g * bins), bins - 1)] += 1
    ema = [list(r) for r in ema]
    for s in range(scopes):
        for j in range(bins):
            if counts[s][j] > 0:
                if momentum > 0 and ema[s][j] > 0:
                    ema[s][j] = momentum * ema[s][j] + (1 - momentum) * counts[s][j]
                else:
                    ema[s][j] = counts[s][j]
    total = 0.0
    for s, g, ce in samples:
        j = min(int(g * bins), bins - 1)
        n_scope = sum(counts[s])
        n_valid = sum(1 for v in counts[s] if v > 0)
        total += n_scope / (ema[s][j] * n_valid) * ce
    return total / max(cells, 1), ema


def batches(steps, b=8, a=3, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        logits = torch.randn(b, a, c, generator=g, dtype=torch.float64) * 3
        targets = torch.randint(0, c, (b, a), generator=g)
        mask = torch.rand(b, a, generator=g) > 0.2
        yield logits, targets, mask


def test_bin_index_edges():
    g = torch.tensor([0.0, 0.2499, 0.25, 0.5, 0.75, 0.9999, 1.0])
    assert ghm_bin_index(g, 4).tolist() == [0, 0, 1, 2, 3, 3, 3]
    assert ghm_bin_index(torch.tensor([0.0, 1.0]), 1).tolist() == [0, 0]


def test_extreme_gradients_land_in_first_and_last_bin():
    loss = GHMCLoss(bins=10, momentum=0.0, use_sigmoid=True).train()
    logits = torch.tensor([[[100.0, -100.0]], [[-100.0, 100.0]]])
    targets = torch.tensor([[0], [0]])
    loss(logits, targets)
    # Sample 0: both classes right (g = 0); sample 1: both wrong (g = 1, last bin).
    assert loss.last_counts.tolist() == [2.0] + [0.0] * 8 + [2.0]
    soft = GHMCLoss(bins=4, momentum=0.0).train()
    soft(torch.tensor([[[0.0, 0.0]], [[50.0, -50.0]], [[-50.0, 50.0]]]), torch.zeros(3, 1).long())
    # p_t = 0.5 sits exactly on the edge 0.5 and goes to the upper bin.
    assert soft.last_counts.tolist() == [1.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("per_aspect", [False, True])
@pytest.mark.parametrize("use_sigmoid", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.75])
def test_matches_naive_over_several_steps(per_aspect, use_sigmoid, momentum):
    bins = 5
    loss = GHMCLoss(bins, momentum, use_sigmoid, per_aspect, num_aspects=3).train()
    ema = [[0.0] * bins for _ in range(3 if per_aspect else 1)]
    for logits, targets, mask in batches(4):
        got = loss(logits, targets, mask)
        expected, ema = naive_ghm(
            logits, targets, mask, ema, bins, momentum, per_aspect, use_sigmoid
        )
        assert got.item() == pytest.approx(expected, rel=1e-6)
        torch.testing.assert_close(
            loss.ema_counts.double().view(-1), torch.tensor(ema, dtype=torch.float64).view(-1)
        )


def test_momentum_recursion_by_hand():
    loss = GHMCLoss(bins=2, momentum=0.5).train()
    wrong = torch.tensor([[[-5.0, 5.0]]])  # g close to 1: bin 1
    right = torch.tensor([[[5.0, -5.0]]])  # g close to 0: bin 0
    t = torch.zeros(1, 1).long()
    loss(torch.cat([wrong, wrong, right]), t.repeat(3, 1))
    assert loss.ema_counts.tolist() == [1.0, 2.0]  # first sight: the counts themselves
    loss(torch.cat([wrong] * 4), t.repeat(4, 1))
    assert loss.ema_counts.tolist() == [1.0, 3.0]  # bin 0 empty: kept; bin 1: (2 + 4) / 2
    loss(torch.cat([right] * 5), t.repeat(5, 1))
    assert loss.ema_counts.tolist() == [3.0, 3.0]


def test_eval_mode_leaves_buffers_unchanged_and_weights_like_training():
    loss = GHMCLoss(bins=10, momentum=0.75).train()
    data = list(batches(3))
    for logits, targets, mask in data[:2]:
        loss(logits, targets, mask)
    before = loss.ema_counts.clone(), loss.last_counts.clone()
    loss.eval()
    value = loss(*data[2])
    assert torch.equal(loss.ema_counts, before[0]) and torch.equal(loss.last_counts, before[1])
    loss.train()
    assert loss(*data[2]).item() == pytest.approx(value.item(), rel=1e-7)
    assert not torch.equal(loss.ema_counts, before[0])


def test_state_dict_round_trip():
    loss = GHMCLoss(bins=6, momentum=0.9, per_aspect=True, num_aspects=3).train()
    data = list(batches(3))
    for batch in data[:2]:
        loss(*batch)
    state = loss.state_dict()
    assert set(state) == {"ema_counts"}
    fresh = GHMCLoss(bins=6, momentum=0.9, per_aspect=True, num_aspects=3).train()
    fresh.load_state_dict(state)
    assert torch.equal(fresh.ema_counts, loss.ema_counts)
    assert fresh(*data[2]).item() == loss(*data[2]).item()
    assert torch.equal(fresh.ema_counts, loss.ema_counts)


def test_per_aspect_statistics_sum_to_shared():
    shared = GHMCLoss(bins=10, momentum=0.0).train()
    per = GHMCLoss(bins=10, momentum=0.0, per_aspect=True, num_aspects=3).train()
    logits, targets, mask = next(batches(1, b=64))
    a, b = shared(logits, targets, mask), per(logits, targets, mask)
    assert per.last_counts.shape == (3, 10)
    torch.testing.assert_close(per.last_counts.sum(0), shared.last_counts)
    assert a.item() != pytest.approx(b.item())
    # With one aspect the two coincide.
    one = GHMCLoss(bins=10, momentum=0.0, per_aspect=True, num_aspects=1).train()
    first = logits[:, :1], targets[:, :1]
    torch.testing.assert_close(one(*first), shared(*first))


def test_mask_excludes_cells_from_counts():
    loss = GHMCLoss(bins=10, momentum=0.0).train()
    logits, targets, mask = next(batches(1, b=16))
    loss(logits, targets.masked_fill(~mask, -100), mask)
    assert loss.last_counts.sum().item() == mask.sum().item()
    sig = GHMCLoss(bins=10, momentum=0.0, use_sigmoid=True, per_aspect=True, num_aspects=3)
    sig.train()(logits, targets, mask)
    torch.testing.assert_close(sig.last_counts.sum(1), mask.sum(0).double().float() * 4)


def test_errors():
    with pytest.raises(ValueError, match="num_aspects"):
        GHMCLoss(per_aspect=True)
    with pytest.raises(ValueError, match="momentum"):
        GHMCLoss(momentum=1.0)
    with pytest.raises(ValueError, match="aspects"):
        GHMCLoss(per_aspect=True, num_aspects=2)(torch.randn(2, 3, 4), torch.zeros(2, 3).long())


def test_compat_names():
    logits = torch.randn(16, 4)
    targets = torch.randint(0, 4, (16,))
    old = GHM_Loss(bins=10, momentum=0.0, use_sigmoid=True, loss_weight=2.0)
    new = GHMCLoss(bins=10, momentum=0.0, use_sigmoid=True)
    ref = 2.0 * new(logits[:, None], targets[:, None])
    torch.testing.assert_close(old(logits, targets), ref)
    torch.testing.assert_close(old(logits, F.one_hot(targets, 4).float()), ref)
    multi = MultiLabelGHM_Loss(11, 3, bins=10, momentum=0.75)
    multi(torch.randn(8, 11, 3), torch.randint(0, 3, (8, 11)))
    assert multi.ghm.ema_counts.shape == (11, 10)
    with pytest.raises(ValueError, match="num_sentiments"):
        multi(torch.randn(8, 11, 4), torch.randint(0, 3, (8, 11)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data, out_dir: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        loss = GHMCLoss(bins=5, momentum=0.75, per_aspect=True, num_aspects=3, reduction="none")
        loss.train()
        mean_loss = GHMCLoss(bins=5, momentum=0.75, per_aspect=True, num_aspects=3).train()
        per_cell, means = [], []
        for logits, targets, mask in data:
            half = logits.shape[0] // world
            rows = slice(rank * half, (rank + 1) * half)
            per_cell.append(loss(logits[rows], targets[rows], mask[rows]))
            # The rank's mean, weighted by its share of valid cells.
            means.append(mean_loss(logits[rows], targets[rows], mask[rows]) * mask[rows].sum())
        result = (torch.stack(per_cell), loss.ema_counts, torch.stack(means))
        torch.save(result, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_process_gloo_matches_one_process(tmp_path):
    data = list(batches(3, b=8))
    single = GHMCLoss(bins=5, momentum=0.75, per_aspect=True, num_aspects=3, reduction="none")
    single.train()
    expected = torch.stack([single(*batch) for batch in data])
    mp.spawn(_worker, args=(2, _free_port(), data, str(tmp_path)), nprocs=2, join=True)
    out = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    got = torch.cat([out[0][0], out[1][0]], dim=1)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(out[0][1], single.ema_counts)
    torch.testing.assert_close(out[1][1], single.ema_counts)
    single_mean = GHMCLoss(bins=5, momentum=0.75, per_aspect=True, num_aspects=3).train()
    expected_means = torch.stack([single_mean(*batch) * batch[2].sum() for batch in data])
    torch.testing.assert_close(out[0][2] + out[1][2], expected_means)


@pytest.mark.parametrize("use_sigmoid", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck(use_sigmoid, reduction):
    # Eval mode: the weights depend on the batch only, so they are constant under
    # gradcheck's small perturbations (no g sits on a bin edge here).
    loss = GHMCLoss(bins=10, momentum=0.5, use_sigmoid=use_sigmoid, reduction=reduction).eval()
    logits, targets, mask = next(batches(1, b=4))
    assert torch.autograd.gradcheck(lambda x: loss(x, targets, mask), (logits.requires_grad_(),))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    bins=st.integers(1, 12),
    per_aspect=st.booleans(),
    use_sigmoid=st.booleans(),
)
def test_weights_sum_to_n_without_momentum(seed, bins, per_aspect, use_sigmoid):
    # With momentum 0, R_j is the batch count, so sum_i beta_i = N in every scope.
    loss = GHMCLoss(bins, 0.0, use_sigmoid, per_aspect, num_aspects=3, reduction="none")
    logits, targets, mask = next(batches(1, b=6, seed=seed))
    loss.train()
    out = loss(logits, targets, mask)
    n_samples = mask.sum().item() * (4 if use_sigmoid else 1)
    assert loss.last_counts.sum().item() == n_samples
    if not use_sigmoid:
        # One sample per cell: dividing by the cell's CE recovers beta.
        ce = F.cross_entropy(logits.reshape(-1, 4), targets.reshape(-1), reduction="none")
        beta = torch.where(mask, out / ce.view(targets.shape), 0.0)
        assert beta.sum().item() == pytest.approx(n_samples, rel=1e-6)
        if per_aspect:
            torch.testing.assert_close(beta.sum(0), mask.sum(0).double())


@pytest.mark.parametrize("per_aspect", [False, True])
@pytest.mark.parametrize("use_sigmoid", [False, True])
def test_cell_weights_are_what_forward_applies(per_aspect, use_sigmoid):
    loss = GHMCLoss(10, 0.75, use_sigmoid, per_aspect, num_aspects=3, reduction="none").train()
    for logits, targets, mask in batches(3, b=16):
        before = loss.ema_counts.clone()
        weights = loss.cell_weights(logits, targets, mask)
        assert torch.equal(loss.ema_counts, before)  # cell_weights changes nothing
        per_cell = loss(logits, targets, mask)
        onehot = F.one_hot(targets, 4).double()
        if use_sigmoid:
            ce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
            expected = (weights * ce).sum(-1)
        else:
            expected = weights * -(torch.log_softmax(logits, -1) * onehot).sum(-1)
        torch.testing.assert_close(per_cell, expected)
        assert torch.all(weights[~mask] == 0)
