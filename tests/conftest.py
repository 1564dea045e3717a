"""Shared test fixtures.

Tests that need the real data in ``../shared/data`` use the ``shared_data_dir``
fixture: it skips (with the reason) where the folder is absent, as in a user's
fresh clone, and fails instead when ``ACSA_REQUIRE_SHARED_DATA=1`` (set by
``.ci/run``) so a wrong path cannot turn CI green by testing nothing. Test
dependencies of the ``test`` extra (kornia, pytorch-metric-learning) and the
means to lock a folder against root follow the same rule under
``ACSA_REQUIRE_TEST_DEPS=1`` (``tests/helpers/requirements.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    if not (SHARED_DATA / "train.csv").is_file():
        reason = f"shared data not found at {SHARED_DATA}"
        if os.environ.get("ACSA_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + " (ACSA_REQUIRE_SHARED_DATA=1)")
        pytest.skip(reason)
    return SHARED_DATA


def require_module(name: str, extra: str) -> None:
    """Skip the calling test when the optional module ``name`` is missing (a user's install
    without ``acsa[extra]``), but fail under CI (``CI=true``, or ``ACSA_REQUIRE_EXTRAS=1``
    as ``.ci/run`` sets), where ``.[test]`` installs every extra: a broken install step must
    not turn CI green by skipping the tests that need it."""
    import importlib.util

    if importlib.util.find_spec(name) is not None:
        return
    reason = f"the optional module {name!r} is not installed (pip install -e '.[{extra}]')"
    if os.environ.get("CI") == "true" or os.environ.get("ACSA_REQUIRE_EXTRAS") == "1":
        pytest.fail(reason + " (CI / ACSA_REQUIRE_EXTRAS=1)")
    pytest.skip(reason)
