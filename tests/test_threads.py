"""OpenMP's wait policy: set to PASSIVE by the CLI before torch loads, never over the user's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from acsa import threads


def test_passive_wait_is_set_when_unset_and_torch_not_loaded(monkeypatch):
    monkeypatch.delenv(threads.WAIT_POLICY_VARIABLE, raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert threads.prefer_passive_wait() is True
    assert os.environ[threads.WAIT_POLICY_VARIABLE] == "PASSIVE"


def test_users_policy_is_kept(monkeypatch):
    monkeypatch.setenv(threads.WAIT_POLICY_VARIABLE, "ACTIVE")
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert threads.prefer_passive_wait() is False
    assert os.environ[threads.WAIT_POLICY_VARIABLE] == "ACTIVE"


def test_too_late_once_torch_is_loaded(monkeypatch):
    import torch  # noqa: F401

    monkeypatch.delenv(threads.WAIT_POLICY_VARIABLE, raising=False)
    assert threads.prefer_passive_wait() is False
    assert threads.WAIT_POLICY_VARIABLE not in os.environ


@pytest.mark.parametrize("preset", [None, "ACTIVE"])
def test_cli_sets_the_policy_before_torch_loads(preset):
    """The console entry point: torch, loaded by a command, sees PASSIVE (or the user's)."""
    env = {k: v for k, v in os.environ.items() if k != threads.WAIT_POLICY_VARIABLE}
    if preset is not None:
        env[threads.WAIT_POLICY_VARIABLE] = preset
    code = (
        "import sys, os\n"
        "from acsa.cli import main\n"
        "assert 'torch' not in sys.modules\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == (preset or "PASSIVE")
