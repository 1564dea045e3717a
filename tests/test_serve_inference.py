"""The length batches every runtime uses (``acsa.models.inference``): rows and padded tokens."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from acsa.models.inference import length_batches


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=300), max_size=120),
    batch_size=st.integers(min_value=1, max_value=70),
    max_tokens=st.integers(min_value=1, max_value=3000),
)
def test_length_batches(lengths: list[int], batch_size: int, max_tokens: int) -> None:
    batches = length_batches(lengths, batch_size, max_tokens)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    # every index once, shortest first
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        longest = max(lengths[i] for i in batch)
        # a batch may exceed the token budget only when it is a single review
        assert len(batch) * longest <= max_tokens or len(batch) == 1
    # greedy: a batch stops only when the next review would break a limit
    for batch, following in zip(batches, batches[1:], strict=False):
        nxt = lengths[following[0]]
        assert len(batch) == batch_size or (len(batch) + 1) * nxt > max_tokens


def test_a_long_review_does_not_pad_the_short_ones() -> None:
    lengths = [10] * 63 + [200]
    batches = length_batches(lengths, batch_size=64, max_tokens=1024)
    assert [len(b) for b in batches] == [63, 1]
    assert length_batches(lengths, batch_size=64, max_tokens=10**9)[0].size == 64
