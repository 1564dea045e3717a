"""The one place acsa sets PyTorch's intra-op thread count (serving, comparisons, batch runs)."""

from __future__ import annotations


def set_torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads in this process; returns the previous count.

    ``None`` leaves them alone (PyTorch's default: ``OMP_NUM_THREADS`` or every
    core) and returns ``None``. ONNX Runtime sessions built afterwards read the
    same count (:mod:`acsa.models.onnx_backend`), so call it before loading a model.
    """
    if threads is None:
        return None
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return previous
