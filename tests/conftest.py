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
