"""The examples in the loss docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "acsa.losses",
    "acsa.losses.cross_entropy",
    "acsa.losses.focal",
    "acsa.losses.ghm",
    "acsa.losses.class_balanced",
    "acsa.losses.registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
