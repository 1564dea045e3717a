"""What the loss sees: gradient-norm histograms per class, and GHM-C's state, per epoch.

The gradient norm of a cell is ``g = 1 - p_t`` (softmax over the classes of
one aspect; the gradient of cross-entropy w.r.t. the logits has L1 norm
``2 (1 - p_t)``, so ``g`` stays in [0, 1], GUIDE.md section 3). It is cheap
to compute from the logits the loss already has, so it is tracked with any
loss, which lets runs with different losses be compared on the same axis.

* :class:`GradientNormTracker` accumulates, over an epoch, a histogram of
  ``g`` per target class (the label scheme's classes) and, when the loss is or
  contains a :class:`~acsa.losses.GHMCLoss`, the mean GHM-C weight per class,
  as the loss's own :meth:`~acsa.losses.GHMCLoss.cell_weights` gives it.
* :class:`GradientStatsCallback` (a ``transformers.TrainerCallback``) writes
  the epoch's statistics to TensorBoard and appends them to
  ``gradient_stats.jsonl`` in the run directory, then starts a new epoch.
* :func:`read_gradient_stats` reads them back;
  :func:`acsa.evaluation.plots.plot_gradient_stats` draws them
  (``acsa plot-ghm RUN_DIR``).

The trainer calls ``tracker.update(logits, targets, mask, loss_fn)`` from
``compute_loss`` in training mode only, before the loss (which updates GHM-C's
statistics).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from acsa.data.label_space import CANONICAL_CLASSES
from acsa.errors import DataError
from acsa.losses import GHMCLoss, ghm_bin_index, gradient_norm

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

STATS_FILE = "gradient_stats.jsonl"


def find_ghm_module(loss_fn: object) -> GHMCLoss | None:
    """The first GHM-C module inside ``loss_fn`` (itself, a combined loss's part, or the
    loss a compatibility wrapper holds), if any."""
    if not isinstance(loss_fn, nn.Module):
        return None
    return next((m for m in loss_fn.modules() if isinstance(m, GHMCLoss)), None)


class GradientNormTracker:
    """Per-epoch histogram of ``g = 1 - p_t`` per target class (and GHM-C weights).

    Args:
        bins: number of equal bins on [0, 1] (binned by GHM-C's rule,
            :func:`acsa.losses.ghm_bin_index`).
        class_names: names of the scheme's classes in index order; defaults to
            the canonical ``none, negative, neutral, positive``.
    """

    def __init__(self, bins: int = 10, class_names: Sequence[str] | None = None) -> None:
        if bins < 1:
            raise ValueError(f"bins must be a positive integer, got {bins}")
        self.bins = bins
        self.class_names = tuple(class_names) if class_names is not None else CANONICAL_CLASSES
        self.ghm: GHMCLoss | None = None
        self._ghm_source: object | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new epoch."""
        self._counts: torch.Tensor | None = None  # [C, bins]
        self._g_sum: torch.Tensor | None = None  # [C]
        self._w_sum: torch.Tensor | None = None  # [C]
        self._w_num: torch.Tensor | None = None  # [C]

    @torch.no_grad()
    def update(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        mask: torch.Tensor | None = None,
        loss_fn: object | None = None,
    ) -> None:
        """Add one training batch: ``logits [B, A, C]``, ``targets [B, A]``, ``mask [B, A]``.

        Call it before the loss of the same batch: GHM-C's weights are read from the
        statistics that batch is weighted with (the loss updates them).
        """
        num_classes = logits.shape[-1]
        # float32: half-precision softmax rounds p_t near 1 and shifts the first bin
        logits = logits.detach().float()
        targets = targets.detach().long()
        valid = (targets >= 0) & (targets < num_classes)
        if mask is not None:
            valid &= mask.detach().bool()
        safe_t = targets.clamp(0, num_classes - 1)
        g = gradient_norm(logits, safe_t)
        valid &= g.isfinite()
        t_valid = safe_t[valid]
        flat = t_valid * self.bins + ghm_bin_index(g, self.bins)[valid]
        counts = torch.bincount(flat, minlength=num_classes * self.bins).view(num_classes, -1)
        g_sum = torch.zeros(num_classes, dtype=torch.float64, device=g.device)
        g_sum.index_add_(0, t_valid, g[valid].double())
        if self._counts is None:
            self._counts = torch.zeros_like(counts, dtype=torch.float64)
            self._g_sum = torch.zeros_like(g_sum)
        self._counts += counts
        self._g_sum += g_sum

        ghm = self._find_ghm(loss_fn)
        # the sigmoid form weighs (cell, class) pairs, not cells: no per-cell weight to report
        if ghm is not None and not ghm.use_sigmoid:
            weights = ghm.cell_weights(logits, safe_t, valid)
            w_sum = torch.zeros(num_classes, dtype=torch.float64, device=g.device)
            w_sum.index_add_(0, t_valid, weights[valid].double())
            w_num = torch.bincount(t_valid, minlength=num_classes).double()
            if self._w_sum is None:
                self._w_sum = torch.zeros_like(w_sum)
                self._w_num = torch.zeros_like(w_num)
            self._w_sum += w_sum
            self._w_num += w_num

    def _synced(self) -> list[torch.Tensor | None]:
        parts = [self._counts, self._g_sum, self._w_sum, self._w_num]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # every rank saw a different shard of the data; the epoch's histogram is their sum
            for t in parts:
                if t is not None:
                    torch.distributed.all_reduce(t)
        return parts

    def summary(self) -> dict[str, Any] | None:
        """The epoch's statistics as plain JSON-ready data; ``None`` before any update.

        Under ``torch.distributed`` every rank must call this (it all-reduces).
        """
        if self._counts is None:
            return None
        counts, g_sum, w_sum, w_num = self._synced()
        assert counts is not None and g_sum is not None
        names = self._names(counts.shape[0])
        per_class = counts.cpu().numpy()
        totals = per_class.sum(axis=1)
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        g_mean = g_sum.cpu().numpy() / np.maximum(totals, 1)
        out: dict[str, Any] = {
            "bins": self.bins,
            "bin_edges": edges.round(6).tolist(),
            "classes": list(names),
            "num_cells": int(totals.sum()),
            "total": [int(x) for x in per_class.sum(axis=0)],
            "counts": {n: [int(x) for x in per_class[i]] for i, n in enumerate(names)},
            "mean_g": {
                n: (float(g_mean[i]) if totals[i] > 0 else None) for i, n in enumerate(names)
            },
            "ghm": None,
        }
        if self.ghm is not None:
            ghm_info: dict[str, Any] = {
                "ema_counts": self.ghm.ema_counts.detach().float().cpu().numpy().round(4).tolist(),
                "bin_edges": np.linspace(0.0, 1.0, self.ghm.bins + 1).round(6).tolist(),
                "mean_weight": None,
            }
            if w_sum is not None and w_num is not None:
                ws, wn = w_sum.cpu().numpy(), w_num.cpu().numpy()
                ghm_info["mean_weight"] = {
                    n: (float(ws[i] / wn[i]) if wn[i] > 0 else None) for i, n in enumerate(names)
                }
            out["ghm"] = ghm_info
        return out

    def _find_ghm(self, loss_fn: object | None) -> GHMCLoss | None:
        # searched once per loss object: update() runs on every training batch
        if loss_fn is None:
            return None
        if self._ghm_source is not loss_fn:
            self._ghm_source = loss_fn
            self.ghm = find_ghm_module(loss_fn)
        return self.ghm

    def _names(self, num_classes: int) -> tuple[str, ...]:
        if len(self.class_names) == num_classes:
            return self.class_names
        return tuple(f"class{i}" for i in range(num_classes))


def make_tracker(
    class_names: Sequence[str] | None,
    output_dir: str | Path,
    loss_fn: object | None = None,
    log_dir: str | Path | None = None,
) -> tuple[GradientNormTracker, list[TrainerCallback]]:
    """The tracker and callback for a run (hook used by ``acsa.training.run``).

    The histogram uses the GHM-C loss's bin count when the loss has one, so
    both describe the same bins; ``class_names`` name the classes (the label
    space's); ``gradient_stats.jsonl`` goes to the run folder ``output_dir``
    and the TensorBoard events to ``log_dir`` (the run's logs).
    """
    ghm = find_ghm_module(loss_fn)
    bins = ghm.bins if ghm is not None else 10
    tracker = GradientNormTracker(bins=bins, class_names=class_names)
    out = Path(output_dir).expanduser().resolve()
    return tracker, [GradientStatsCallback(tracker, output_dir=out, log_dir=log_dir)]


def _add_raw_histogram(writer: SummaryWriter, tag: str, counts: Sequence[float], step: int) -> None:
    counts_arr = np.asarray(counts, dtype=np.float64)
    num = float(counts_arr.sum())
    if num <= 0:
        return
    edges = np.linspace(0.0, 1.0, counts_arr.size + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    nonzero = np.nonzero(counts_arr)[0]
    writer.add_histogram_raw(
        tag,
        min=float(edges[nonzero[0]]),
        max=float(edges[nonzero[-1] + 1]),
        num=num,
        sum=float((centers * counts_arr).sum()),
        sum_squares=float((centers**2 * counts_arr).sum()),
        bucket_limits=edges[1:].tolist(),
        bucket_counts=counts_arr.tolist(),
        global_step=step,
    )


class GradientStatsCallback(TrainerCallback):
    """Logs the tracker's statistics at each epoch end and starts a new epoch.

    Args:
        tracker: the tracker the trainer's ``compute_loss`` updates.
        output_dir: where ``gradient_stats.jsonl`` goes; defaults to
            ``args.output_dir``.
        log_dir: TensorBoard directory; defaults to ``$TENSORBOARD_LOGGING_DIR``
            (as Hugging Face's TensorBoard callback) or ``output_dir/tensorboard``.
    """

    def __init__(
        self,
        tracker: GradientNormTracker,
        output_dir: str | Path | None = None,
        log_dir: str | Path | None = None,
    ) -> None:
        self.tracker = tracker
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self._writer: SummaryWriter | None = None

    def _resolve_dirs(self, args: TrainingArguments) -> tuple[Path, Path]:
        out = self.output_dir or Path(args.output_dir)
        log = self.log_dir
        if log is None:
            env = os.environ.get("TENSORBOARD_LOGGING_DIR")
            log = Path(env).expanduser() if env else out / "tensorboard"
        return out, log

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.tracker.reset()

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        summary = self.tracker.summary()
        self.tracker.reset()
        if summary is None or not state.is_world_process_zero:
            return
        epoch = int(round(state.epoch or 0.0))
        summary = {"epoch": epoch, "global_step": int(state.global_step), **summary}
        out_dir, log_dir = self._resolve_dirs(args)
        out_dir.mkdir(parents=True, exist_ok=True)
        with (out_dir / STATS_FILE).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(summary) + "\n")
        self._log_tensorboard(log_dir, summary, epoch)

    def _log_tensorboard(self, log_dir: Path, summary: dict[str, Any], epoch: int) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(log_dir))
        w = self._writer
        _add_raw_histogram(w, "gradient_norm/all", summary["total"], epoch)
        for name, counts in summary["counts"].items():
            _add_raw_histogram(w, f"gradient_norm/{name}", counts, epoch)
        for name, value in summary["mean_g"].items():
            if value is not None:
                w.add_scalar(f"gradient_norm_mean/{name}", value, epoch)
        ghm = summary.get("ghm")
        if ghm is not None:
            ema = np.asarray(ghm["ema_counts"], dtype=np.float64)
            _add_raw_histogram(w, "ghm/ema_counts", ema.reshape(-1, ema.shape[-1]).sum(0), epoch)
            for name, value in (ghm["mean_weight"] or {}).items():
                if value is not None:
                    w.add_scalar(f"ghm/mean_weight/{name}", value, epoch)
        w.flush()

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_gradient_stats(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-epoch records of a run, one per epoch (a resumed run's later record wins)."""
    path = Path(run_dir) / STATS_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: no gradient statistics; train with a pipeline that registers "
            "GradientStatsCallback, or pass the run's output directory"
        )
    by_epoch: dict[int, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                by_epoch[int(record["epoch"])] = record
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{path}, line {line_no}: not a statistics record ({exc})") from exc
    if not by_epoch:
        raise DataError(f"{path}: the file holds no epoch records")
    return [by_epoch[e] for e in sorted(by_epoch)]
