"""The one place acsa sets how PyTorch's threads behave: their count and how they wait.

* :func:`set_torch_threads`: the intra-op thread count (serving, comparisons,
  batch runs).
* :func:`prefer_passive_wait`: OpenMP threads that sleep while they wait for
  work instead of spinning. PyTorch's CPU builds use GNU OpenMP, whose idle
  threads spin for a while before sleeping; on a machine where other
  processes want the cores (a laptop with a browser open, a shared server, two
  experiments at once) the spinning threads take the cores the working ones
  need, and a training slows far more than its share: measured on 2 cores
  under a load of about 15, a quickstart step took 2 to 8 s with the default
  and 0.3 s with ``OMP_WAIT_POLICY=PASSIVE`` (docs/BENCHMARKS.md, "A busy
  machine"). The CLI calls it before anything imports torch.
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY_VARIABLE = "OMP_WAIT_POLICY"


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


def prefer_passive_wait() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` for this process and its children, unless the user set
    a policy; returns whether it was set here.

    OpenMP reads the variable once, when the runtime loads (on ``import torch``), so
    this must run before torch is imported; later it changes only child processes
    (compare workers, DDP ranks) and this returns False.
    """
    if WAIT_POLICY_VARIABLE in os.environ or "torch" in sys.modules:
        return False
    os.environ[WAIT_POLICY_VARIABLE] = "PASSIVE"
    return True
