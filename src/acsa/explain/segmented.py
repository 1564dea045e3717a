"""Explanations of a word-segmented model, with offsets into the text the user wrote.

A model saved with ``data.word_segmentation`` reads each review segmented
(:mod:`acsa.models.segmented`: ``màn hình đẹp!`` -> ``màn_hình đẹp !``). Its
evidence is computed on that text, whose tokens are the segmenter's words;
:func:`segmented_evidence` moves every token back onto the original review: a
segmented word covers the original characters of its syllables (``màn hình``,
the space between them included), and ``text[start:end]`` is again what the
user wrote (composed or decomposed accents alike).

The segmenters normalise to NFC, then insert ``_`` and spaces and change no
other character; :func:`rewritten_positions` aligns the two texts character
by character on that assumption, and with :class:`difflib.SequenceMatcher`
where it does not hold.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from acsa.explain.evidence import AspectEvidence, TokenContribution
from acsa.explain.spans import aligned_normal_form

_INSERTED = -1


def _greedy(source: str, rewritten: str) -> list[int] | None:
    """Per rewritten character its index in ``source`` (``-1``: inserted), or None when
    a character other than ``_`` or a space was not found in order."""
    out = [_INSERTED] * len(rewritten)
    i = 0
    for j, ch in enumerate(rewritten):
        if i < len(source) and source[i] == ch:
            out[j], i = i, i + 1
            continue
        k = i
        while k < len(source) and source[k].isspace():
            k += 1
        if k < len(source) and source[k] == ch:
            out[j], i = k, k + 1
        elif not (ch == "_" or ch.isspace()):
            return None
    return out


def _matched(source: str, rewritten: str) -> list[int]:
    out = [_INSERTED] * len(rewritten)
    matcher = difflib.SequenceMatcher(None, source, rewritten, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for offset in range(size):
            out[b + offset] = a + offset
    return out


def rewritten_positions(original: str, rewritten: str) -> list[tuple[int, int] | None]:
    """Per character of ``rewritten`` (the segmenter's output for ``original``) the range of
    ``original`` characters it comes from; None for a character the segmenter inserted."""
    aligned = aligned_normal_form(original, lowercase=False)
    index = _greedy(aligned.normal, rewritten)
    if index is None:
        index = _matched(aligned.normal, rewritten)
    return [None if k < 0 else (aligned.starts[k], aligned.ends[k]) for k in index]


def remap_tokens(
    original: str, positions: Sequence[tuple[int, int] | None], evidence: AspectEvidence
) -> AspectEvidence:
    """``evidence`` on the segmented text, its tokens moved onto ``original`` (a token made
    only of inserted characters, which no segmenter produces, is dropped)."""
    tokens = []
    for token in evidence.tokens:
        ranges = [p for p in positions[token.start : token.end] if p is not None]
        if not ranges:
            continue
        start, end = min(r[0] for r in ranges), max(r[1] for r in ranges)
        tokens.append(TokenContribution(start, end, original[start:end], token.contribution))
    return replace(evidence, tokens=tuple(tokens))


def segmented_evidence(
    texts: Sequence[str],
    segmentation: str,
    explain: Callable[[list[str]], list[dict[str, AspectEvidence]]],
) -> list[dict[str, Any]]:
    """``explain`` (texts -> per review ``{aspect: evidence}``) run on the segmented
    ``texts``, every token's offsets moved back onto the text as written."""
    from acsa.data.segmentation import segment_texts

    segmented = segment_texts(texts, segmentation)
    evidence = explain(segmented)
    out = []
    for text, rewritten, per_aspect in zip(texts, segmented, evidence, strict=True):
        positions = rewritten_positions(text, rewritten)
        out.append({a: remap_tokens(text, positions, e) for a, e in per_aspect.items()})
    return out
