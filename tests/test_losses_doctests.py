"""The examples in the loss docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "acsa.losses",
    "acsa.losses.asymmetric",
    "acsa.losses.class_balanced",
    "acsa.losses.contrastive",
    "acsa.losses.cross_entropy",
    "acsa.losses.focal",
    "acsa.losses.ghm",
    "acsa.losses.logit_adjusted",
    "acsa.losses.registry",
    "acsa.losses.unified_focal",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
