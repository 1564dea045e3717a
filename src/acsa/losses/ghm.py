"""Gradient harmonizing loss GHM-C (Li, Liu, Wang, AAAI 2019, arXiv:1811.05181).

Each valid sample ``i`` gets a gradient norm ``g_i`` in [0, 1]: ``|sigmoid(x) - y|``
per (cell, class) in the sigmoid form, ``1 - p_t`` per cell in the softmax form
(the gradient of softmax cross-entropy has L1 norm ``2 (1 - p_t)``, halved so that
``g`` stays in [0, 1]). ``[0, 1]`` is cut into M equal bins ``[k/M, (k+1)/M)``,
the last one closed, and ``R_j`` counts the samples in bin ``j`` (an exponential
moving average over training batches when ``momentum > 0``). Then

    beta_i = N / (R_{bin(i)} * n_valid_bins),    loss = sum_i beta_i * CE_i / N

with N the number of valid samples and ``n_valid_bins`` the number of non-empty
bins in the batch. The weights carry no gradient.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import check_reduction, prepare


def ghm_bin_index(g: Tensor, bins: int) -> Tensor:
    """Bin of each gradient norm ``g`` in [0, 1]: ``floor(g * bins)``, with g = 1 in the last bin.

    Example:
        >>> ghm_bin_index(torch.tensor([0.0, 0.1, 0.5, 0.99, 1.0]), 10).tolist()
        [0, 1, 5, 9, 9]
    """
    # Integer arithmetic instead of a comparison per edge: one kernel whatever M is.
    return (g * bins).long().clamp_max_(bins - 1)


class GHMCLoss(nn.Module):
    """GHM-C loss on ``logits[B, A, C]``, ``targets[B, A]``, optional ``mask[B, A]``.

    Args:
        bins: number M of equal bins on [0, 1].
        momentum: EMA factor for the bin counts, ``R <- momentum * R + (1 - momentum) * count``
            for the bins that are non-empty in the batch; a bin seen for the first
            time starts at its count (a zero start, as in mmdetection, would inflate
            early weights by ``1 / (1 - momentum)``). 0 uses the batch counts only.
        use_sigmoid: sigmoid form (every (cell, class) is a binary sample, targets
            one-hot) instead of the softmax form (one sample per cell).
        per_aspect: keep separate statistics per aspect (then N, the counts and
            ``n_valid_bins`` are taken per aspect) instead of one shared histogram.
        num_aspects: A, required with ``per_aspect`` (fixes the buffer shapes).
        reduction: 'none' (``[B, A]``: ``beta_i * CE_i``, summed over classes in the
            sigmoid form) | 'mean' (``sum(beta * CE) / N``; N counts valid cells in the
            softmax form and valid (cell, class) pairs in the sigmoid form, as in the
            paper) | 'sum'.

    Buffers: ``ema_counts`` (persistent, ``[M]`` or ``[A, M]``), ``last_counts``
    (not saved: the histogram of the latest training batch, all ranks summed) and
    ``bin_edges`` (``[M + 1]``). They change only in training mode; in evaluation
    mode the batch is weighted as a training step would weight it, without any
    update and without collective communication. In training mode the batch
    histogram is all-reduced when ``torch.distributed`` is initialized, so every
    rank uses the global statistics (``beta`` with the global N and counts); 'mean'
    then divides by the rank's own N, so that DDP's averaging of gradients gives the
    single-process gradient when ranks hold equal numbers of valid samples.
    """

    ema_counts: Tensor
    last_counts: Tensor
    bin_edges: Tensor
    _offsets: Tensor

    def __init__(
        self,
        bins: int = 10,
        momentum: float = 0.75,
        use_sigmoid: bool = False,
        per_aspect: bool = False,
        num_aspects: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if int(bins) != bins or bins < 1:
            raise ValueError(f"bins must be a positive integer, got {bins!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if per_aspect and (num_aspects is None or num_aspects < 1):
            raise ValueError("per_aspect=True needs num_aspects (the number A of aspects)")
        self.bins = int(bins)
        self.momentum = float(momentum)
        self.use_sigmoid = use_sigmoid
        self.per_aspect = per_aspect
        self.num_aspects = num_aspects if per_aspect else None
        self.reduction = reduction
        shape = (num_aspects, self.bins) if per_aspect else (self.bins,)
        self.register_buffer("ema_counts", torch.zeros(shape))
        self.register_buffer("last_counts", torch.zeros(shape), persistent=False)
        self.register_buffer("bin_edges", torch.linspace(0.0, 1.0, self.bins + 1), persistent=False)
        offsets = torch.arange(num_aspects or 1) * self.bins if per_aspect else torch.zeros(1)
        self.register_buffer("_offsets", offsets.long(), persistent=False)
        # 0-dim constants: a Python scalar operand costs an extra conversion kernel.
        self.register_buffer("_one", torch.tensor(1.0), persistent=False)
        self.register_buffer("_neg_bins", torch.tensor(-float(self.bins)), persistent=False)
        self.register_buffer("_bins", torch.tensor(float(self.bins)), persistent=False)

    def extra_repr(self) -> str:
        return (
            f"bins={self.bins}, momentum={self.momentum}, use_sigmoid={self.use_sigmoid}, "
            f"per_aspect={self.per_aspect}, reduction={self.reduction!r}"
        )

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        logits, targets, mask = prepare(logits, targets, mask)
        if self.per_aspect and logits.shape[1] != self.num_aspects:
            raise ValueError(
                f"GHMCLoss was built with num_aspects={self.num_aspects} but logits have "
                f"{logits.shape[1]} aspects"
            )
        return _GHMCFunction.apply(logits, targets, mask, self)

    def _weights(self, g_scaled: Tensor, mask: Tensor | None) -> Tensor:
        """Per-sample weights from ``g * bins``; 0 for masked samples, over N for 'mean'.

        Every operation here runs on tensors of at most ``B * A * C`` elements and
        the tables on ``A * M``; at small batches their count, not their size, sets
        the cost, hence a few unusual spellings (commented).
        """
        # Same rule as ghm_bin_index; the caller has already multiplied by M.
        index = g_scaled.long().clamp_max_(self.bins - 1)
        if self.per_aspect:
            # Samples are [B, A, 1] (softmax) or [B, A, C] (sigmoid): aspect is dim 1.
            index = index + self._offsets.view(-1, 1)
        flat = index.view(-1)
        training = self.training
        counts = self.last_counts if training else torch.zeros_like(self.last_counts)
        # index_add_ of ones (or of the mask, so masked samples add 0) into a float
        # table: one kernel, where bincount also scans for the min and max.
        values = (
            self._one.expand(flat.shape[0]) if mask is None else mask.reshape(-1).to(counts.dtype)
        )
        counts.view(-1).zero_().index_add_(0, flat, values)
        local_total = None
        if training and dist.is_available() and dist.is_initialized():
            local_total = counts.sum()
            dist.all_reduce(counts)
        nonempty = counts.bool()  # counts >= 0, so bool() is counts > 0 in one kernel
        ema = self.ema_counts
        if self.momentum > 0:
            smoothed = torch.where(ema.bool(), ema.lerp(counts, 1.0 - self.momentum), counts)
        else:
            smoothed = counts
        if training:
            # Bins empty in this batch keep their count, with or without momentum.
            torch.where(nonempty, smoothed, ema, out=ema)
        # beta = N_scope / (R * n_valid_bins). Bins empty in the batch may hold inf
        # here: no valid sample reads them.
        n_valid_bins = torch.count_nonzero(counts, dim=-1)
        if self.per_aspect:
            n_valid_bins = n_valid_bins.unsqueeze(-1)
        denom = smoothed * n_valid_bins
        if self.reduction == "mean" and not self.per_aspect:
            table = torch.reciprocal(denom)
        else:
            scope_total = counts.sum(-1, keepdim=True)
            if self.reduction == "mean":
                # N = 0 only when every sample is masked; then no sample reads the table.
                denom = denom * scope_total.sum()
            table = scope_total / denom
        if local_total is not None and self.reduction == "mean":
            # 'mean' divides by this rank's N: DDP then averages the ranks' gradients.
            table = table * (counts.sum() / local_total.clamp_min(1))
        if table.dtype != g_scaled.dtype:
            table = table.to(g_scaled.dtype)
        weight = torch.take(table, index)  # take reads the table as flat
        if mask is not None:
            # Masked samples were counted with 0 but still index some bin, possibly an
            # empty one holding inf: where, not multiply.
            weight = torch.where(mask, weight, 0.0)
        return weight


class _GHMCFunction(torch.autograd.Function):
    """GHM-C forward and its analytic backward in one autograd node.

    The weights carry no gradient, so d loss / d logits is ``w * (p - y)`` with the
    softmax (or sigmoid) probabilities: writing it out saves the graph bookkeeping
    of about ten small operations, which dominates at small batch sizes.
    """

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, mask: Tensor | None, loss: GHMCLoss):
        reduction = loss.reduction
        if loss.use_sigmoid:
            onehot = torch.zeros_like(logits).scatter_(-1, targets.unsqueeze(-1), 1.0)
            ce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
            diff = torch.sigmoid(logits).sub_(onehot)  # dBCE/dx = p - y
            weight = loss._weights(
                diff.abs().mul_(loss._bins),
                None if mask is None else mask.unsqueeze(-1).expand_as(diff),
            )
            ctx.save_for_backward(diff, weight)
        else:
            # Per-cell tensors keep a trailing dim of 1 ([B, A, 1]) so that the
            # backward pass needs no reshaping.
            index = targets.unsqueeze(-1)
            log_p = torch.log_softmax(logits, dim=-1)
            log_pt = log_p.gather(-1, index)
            pt_minus_one = torch.expm1(log_pt)  # -g, accurate near p_t = 1
            weight = loss._weights(
                pt_minus_one * loss._neg_bins, None if mask is None else mask.unsqueeze(-1)
            )
            ce = log_pt.neg_()
            ctx.save_for_backward(log_p, index, pt_minus_one, weight)
        ctx.sigmoid = loss.use_sigmoid
        ctx.reduction = reduction
        if reduction == "none":
            return (ce * weight).sum(-1)
        return torch.dot(ce.view(-1), weight.view(-1))

    @staticmethod
    def backward(ctx, grad: Tensor):
        scale = grad.unsqueeze(-1) if ctx.reduction == "none" else grad
        if ctx.sigmoid:
            diff, weight = ctx.saved_tensors
            return diff * (weight * scale), None, None, None
        log_p, index, pt_minus_one, weight = ctx.saved_tensors
        # d CE / d logits = softmax - onehot; the target entry is p_t - 1.
        grad_logits = log_p.exp().scatter_(-1, index, pt_minus_one)
        return grad_logits.mul_(weight * scale), None, None, None
