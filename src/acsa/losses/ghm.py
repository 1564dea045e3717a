"""Gradient harmonizing loss GHM-C (Li, Liu, Wang, AAAI 2019, arXiv:1811.05181).

Each valid sample ``i`` gets a gradient norm ``g_i`` in [0, 1]: ``|sigmoid(x) - y|``
per (cell, class) in the sigmoid form, ``1 - p_t`` per cell in the softmax form
(the gradient of softmax cross-entropy has L1 norm ``2 (1 - p_t)``, halved so that
``g`` stays in [0, 1]). ``[0, 1]`` is cut into M equal bins ``[k/M, (k+1)/M)``,
the last one closed, and ``R_j`` counts the samples in bin ``j`` (an exponential
moving average over training batches when ``momentum > 0``). Then

    beta_i = N / (R_{bin(i)} * n_valid_bins),    loss_i = beta_i * CE_i

with N the number of valid samples and ``n_valid_bins`` the number of non-empty
bins in the batch. The weights carry no gradient. 'mean' follows the rule of
every loss here (``none.sum()`` over the valid cells); the paper's
``sum(beta * CE) / N`` is that value in the softmax form, and that value divided
by C in the sigmoid form, where N counts (cell, class) samples.

Example:
    >>> import torch
    >>> loss = GHMCLoss(bins=10, momentum=0.0)
    >>> logits = torch.tensor([[[4.0, 0.0]], [[4.0, 0.0]], [[0.0, 4.0]]])  # 2 easy, 1 hard
    >>> targets = torch.zeros(3, 1, dtype=torch.long)
    >>> loss.cell_weights(logits, targets).squeeze(1).tolist()  # the lone hard cell weighs more
    [0.75, 0.75, 1.5]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import (
    check_option,
    check_range,
    check_reduction,
    one_hot,
    prepare,
    reduce_cells,
    target_log_prob,
)


def gradient_norm(logits: Tensor, targets: Tensor, use_sigmoid: bool = False) -> Tensor:
    """GHM-C's gradient norm ``g`` in [0, 1], without gradient.

    Softmax form: ``1 - p_t`` per cell, ``[B, A]``; sigmoid form: ``|sigmoid(x) - y|``
    per (cell, class), ``[B, A, C]``. ``logits[B, A, C]``, ``targets[B, A]`` (long).
    """
    with torch.no_grad():
        return _loss_terms(logits, targets, use_sigmoid)[1]


def _loss_terms(logits: Tensor, targets: Tensor, use_sigmoid: bool) -> tuple[Tensor, Tensor]:
    """``(ce, g)``: per-sample cross-entropy (with gradient) and gradient norm (without)."""
    if use_sigmoid:
        y = one_hot(targets, logits)
        ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        return ce, (torch.sigmoid(logits.detach()) - y).abs()
    log_pt = target_log_prob(logits, targets)
    # -expm1(log p_t) = 1 - p_t without cancellation near p_t = 1
    return -log_pt, -torch.expm1(log_pt.detach())


MAX_BINS = 10_000
"""The most bins ``GHMCLoss`` accepts (the paper uses 10 to 30; each bin is one EMA count)."""


def ghm_bin_index(g: Tensor, bins: int) -> Tensor:
    """The binning rule: bin ``floor(g * bins)`` of each ``g`` in [0, 1], g = 1 in the last bin.

    NaN goes to bin 0; callers leave non-finite samples out of the counts.

    Example:
        >>> ghm_bin_index(torch.tensor([0.0, 0.1, 0.5, 0.99, 1.0]), 10).tolist()
        [0, 1, 5, 9, 9]
    """
    return (g.nan_to_num(0.0) * bins).long().clamp_(0, bins - 1)


class GHMCLoss(nn.Module):
    """GHM-C loss on ``logits[B, A, C]``, ``targets[B, A]``, optional ``mask[B, A]``.

    Args:
        bins: number M of equal bins on [0, 1].
        momentum: EMA factor in [0, 1) for the bin counts, ``R <- momentum * R +
            (1 - momentum) * count`` for the bins that are non-empty in the batch; a bin
            seen for the first time starts at its count (a zero start, as in
            mmdetection, would inflate early weights by ``1 / (1 - momentum)``). 0 uses
            the batch counts only.
        use_sigmoid: sigmoid form (every (cell, class) is a binary sample, targets
            one-hot) instead of the softmax form (one sample per cell).
        per_aspect: separate statistics per aspect (N, the counts and
            ``n_valid_bins`` taken per aspect) instead of one shared histogram.
        num_aspects: A, required with ``per_aspect`` (fixes the buffer shapes).
        reduction: 'none' (``[B, A]``: ``beta_i * CE_i``, summed over classes in the
            sigmoid form) | 'mean' (over valid cells) | 'sum'.

    Buffers, float32 whatever dtype the module is cast to (bf16 counts would stop
    growing at 256): ``ema_counts`` (saved, ``[M]`` or ``[A, M]``) and
    ``last_counts`` (not saved: the latest training batch's histogram, all ranks
    summed). They change only in training mode; in evaluation mode a batch is
    weighted as a training step would weight it, with no update and no collective
    communication. In training mode the batch histogram is all-reduced when
    ``torch.distributed`` is initialized, so every rank weights with the global
    statistics; with 'mean' dividing by the rank's own valid cells, DDP's averaging
    of gradients then gives the single-process gradient when ranks hold equal
    numbers of valid cells. Samples with a non-finite ``g`` (NaN logits) stay out of
    the statistics; their loss is NaN, as with every other loss.
    """

    ema_counts: Tensor
    last_counts: Tensor

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
        check_option(
            "bins",
            bins,
            isinstance(bins, int) and not isinstance(bins, bool) and 1 <= bins <= MAX_BINS,
            f"a positive integer up to {MAX_BINS:,}",
        )
        check_range("momentum", momentum, 0, 1, high_open=True)
        if per_aspect:
            check_option(
                "num_aspects",
                num_aspects,
                isinstance(num_aspects, int) and num_aspects >= 1,
                "the number A of aspects (>= 1) when per_aspect is true",
            )
        self.bins = int(bins)
        self.momentum = float(momentum)
        self.use_sigmoid = bool(use_sigmoid)
        self.per_aspect = bool(per_aspect)
        self.num_aspects = int(num_aspects) if per_aspect and num_aspects else None
        self.reduction = reduction
        shape = (self.num_aspects, self.bins) if self.num_aspects else (self.bins,)
        self.register_buffer("ema_counts", torch.zeros(shape))
        self.register_buffer("last_counts", torch.zeros(shape), persistent=False)

    def extra_repr(self) -> str:
        return (
            f"bins={self.bins}, momentum={self.momentum}, use_sigmoid={self.use_sigmoid}, "
            f"per_aspect={self.per_aspect}, reduction={self.reduction!r}"
        )

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> GHMCLoss:
        # .to(dtype) / .half() move the statistics but keep them float32: bf16 counts
        # saturate at 256 and would distort every weight.
        def keep_float32(t: Tensor) -> Tensor:
            moved = fn(t)
            if t.dtype == torch.float32 and moved.dtype != torch.float32:
                return t.to(device=moved.device)
            return moved

        return super()._apply(keep_float32, recurse)

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        logits, targets, valid = prepare(logits, targets, mask)
        self._check_aspects(logits)
        ce, g = _loss_terms(logits, targets, self.use_sigmoid)
        per_sample = self._weights(g, valid, update=self.training) * ce
        per_cell = per_sample.sum(-1) if self.use_sigmoid else per_sample
        return reduce_cells(per_cell, valid, self.reduction)

    def cell_weights(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        """The weights ``beta`` that ``forward`` would apply to this batch now; updates nothing.

        Returns ``[B, A]`` (softmax form) or ``[B, A, C]`` (sigmoid form), 0 on masked
        cells, without gradient. The statistics are the current ones blended with
        this batch's histogram, exactly as in ``forward``; under ``torch.distributed``
        the histogram is this rank's alone (no collective call).
        """
        logits, targets, valid = prepare(logits, targets, mask)
        self._check_aspects(logits)
        return self._weights(gradient_norm(logits, targets, self.use_sigmoid), valid, update=False)

    def _check_aspects(self, logits: Tensor) -> None:
        if self.per_aspect and logits.shape[1] != self.num_aspects:
            raise ValueError(
                f"GHMCLoss was built with num_aspects={self.num_aspects} but logits have "
                f"{logits.shape[1]} aspects"
            )

    @torch.no_grad()
    def _weights(self, g: Tensor, valid: Tensor, update: bool) -> Tensor:
        """beta per sample from the gradient norms ``g``; 0 where not valid."""
        if self.use_sigmoid:
            valid = valid.unsqueeze(-1).expand_as(g)
        valid = valid & g.isfinite()
        index = ghm_bin_index(g, self.bins)
        if self.per_aspect:
            aspect = torch.arange(g.shape[1], device=g.device).view(1, -1, *[1] * (g.dim() - 2))
            index = index + aspect * self.bins
        counts = torch.zeros_like(self.ema_counts)
        counts.view(-1).index_add_(0, index.reshape(-1), valid.reshape(-1).to(counts.dtype))
        if update and dist.is_available() and dist.is_initialized():
            dist.all_reduce(counts)
        ema = self.ema_counts
        smoothed = counts
        if self.momentum > 0:
            smoothed = torch.where(ema > 0, ema.lerp(counts, 1.0 - self.momentum), counts)
        if update:
            # Bins empty in this batch keep their count.
            ema.copy_(torch.where(counts > 0, smoothed, ema))
            self.last_counts.copy_(counts)
        n_samples = counts.sum(-1, keepdim=True)
        n_valid_bins = (counts > 0).sum(-1, keepdim=True)
        # Bins empty in the batch give 0/0 here; no valid sample reads them.
        beta = n_samples / (smoothed * n_valid_bins)
        weight = beta.view(-1)[index].to(g.dtype)
        return torch.where(valid, weight, 0.0)
