"""A folder the current user cannot write into, for root as well.

Root ignores permission bits, so ``chmod 0o500`` locks a folder only for a
normal user. For root the folder is made immutable (``chattr +i``: no entry
can be created, renamed or removed in it, root included), or, where the file
system has no such flag, a read-only tmpfs is mounted on it. Both are real
kernel refusals (EPERM, EROFS), seen by ``os.access`` and ``mkdir`` alike.

Where neither works the test is skipped, and fails instead under
``ACSA_REQUIRE_TEST_DEPS=1`` (set by ``.ci/run``), so CI cannot turn green by
leaving the permission checks out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers.requirements import missing

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _run(*argv: str) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    done = subprocess.run(argv, capture_output=True, check=False, timeout=30)
    return done.returncode == 0


def _refuses_writes(folder: Path) -> bool:
    if os.access(folder, os.W_OK):
        return False
    try:
        (folder / "probe").mkdir()
    except OSError:
        return True
    (folder / "probe").rmdir()
    return False


def lock(folder: Path) -> str:
    """Make the existing ``folder`` unwritable; returns how (``chmod``, ``chattr``, ``mount``)."""
    if not IS_ROOT:
        folder.chmod(0o500)
        how = "chmod"
    elif _run("chattr", "+i", str(folder)):
        how = "chattr"
    elif _run("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)):
        how = "mount"
    else:
        missing(
            "as root, neither 'chattr +i' nor a read-only tmpfs mount works here, so no "
            "folder can be made unwritable"
        )
        raise AssertionError("unreachable")
    if not _refuses_writes(folder):
        unlock(folder)
        missing(f"{folder} still accepts writes after {how}")
    return how


def unlock(folder: Path) -> None:
    """Undo :func:`lock` (whichever way it locked), so the folder can be removed."""
    if not folder.exists():
        return
    if IS_ROOT:
        if os.path.ismount(folder):
            _run("umount", str(folder))
        _run("chattr", "-i", str(folder))
    else:
        folder.chmod(0o700)
