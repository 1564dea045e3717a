"""Skip where a test dependency is missing, fail instead under CI.

The same rule as the shared data (``tests/conftest.py``) and the browser
(``tests/test_browser.py``): a fresh checkout without the test extras skips
the tests that need them, with the reason, while ``.ci/run`` sets
``ACSA_REQUIRE_TEST_DEPS=1``, under which a missing or broken dependency fails
the run, so CI cannot turn green by testing nothing. acsa's own modules and
its declared dependencies are imported plainly: a broken import there is a
failure everywhere.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ENV = "ACSA_REQUIRE_TEST_DEPS"


def missing(problem: str) -> NoReturn:
    """Skip with ``problem`` as the reason; under ``ACSA_REQUIRE_TEST_DEPS=1``, fail."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{problem} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(problem, allow_module_level=True)


def require_module(name: str) -> ModuleType:
    """``import name``, a test dependency from the ``test`` extra (see :func:`missing`)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(
            f"{name} cannot be imported ({exc}); install the test extra: pip install -e '.[test]'"
        )
