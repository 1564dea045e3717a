"""A Ray session for the commands that scale out (engine ``ray``), started or joined.

Ray is an optional extra (``pip install "acsa[ray]"``), imported only here and
only when a command asks for it. Without an address a local Ray starts in this
process and stops with it (a laptop); with one, the command joins that
cluster (``ray start --head`` on one machine, ``ray start --address HEAD:6379``
on the others) and leaves it running. Ray's usage statistics are switched off
and no dashboard is started, so nothing is sent anywhere.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from acsa.errors import AcsaError, ClusterError, one_line, optional_import

RAY_EXTRA = "ray"


def import_ray(purpose: str) -> ModuleType:
    """``ray``, or a one-line error saying to install ``acsa[ray]``."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return optional_import("ray", RAY_EXTRA, purpose)


@contextmanager
def ray_session(
    address: str | None = None, purpose: str = "running on Ray", num_cpus: int | None = None
) -> Iterator[ModuleType]:
    """Ray, initialised for the block: joined at ``address``, or a local instance.

    A Ray already initialised in this process (a test, a notebook) is used as it
    is and left running.

    Args:
        address: ``HOST:PORT`` of a running cluster's head, or ``auto``; ``None``
            starts a local Ray.
        purpose: what needs Ray (the error message when it is not installed).
        num_cpus: CPUs of a local Ray (default: all of this machine's).
    """
    ray = import_ray(purpose)
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": False,
        }
        _init(ray, address, num_cpus, options)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _init(
    ray: ModuleType, address: str | None, num_cpus: int | None, options: dict[str, Any]
) -> None:
    """``ray.init``; a local start is tried twice (Ray gives its raylet a fixed 30 s to
    register, which a busy machine can miss); a failure is a one-line error."""
    attempts = 1 if address else 2
    for attempt in range(1, attempts + 1):
        try:
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=num_cpus, **options)
            return
        except Exception as exc:  # noqa: BLE001 - Ray raises bare Exception on a timeout
            ray.shutdown()
            if attempt == attempts:
                where = f"join the Ray cluster at {address}" if address else "start a local Ray"
                raise ClusterError(f"cannot {where}: {one_line(exc)}") from None


def user_error(exc: BaseException) -> AcsaError | None:
    """The acsa error a Ray task raised, unwrapped from Ray's exception chain (or ``None``).

    Ray re-raises a task's exception as a ``RayTaskError`` whose text carries the
    remote traceback; the one-line message the user should see is the original's.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AcsaError) and type(current).__module__.startswith("acsa"):
            return current
        todo += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return None
