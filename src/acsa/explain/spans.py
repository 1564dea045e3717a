"""Tokens of a review with their character offsets in the text as the user wrote it.

The models read a normalised text (Unicode NFC, lowercased): a review typed
with combining accents (NFD) or capitals has other character positions than
the text a featurizer tokenizes. :func:`aligned_normal_form` normalises the
text piece by piece and keeps, for every normalised character, the range of
original characters it came from, so a token found in the normalised text
maps back to the exact characters the user typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from acsa.models.text import normalize

# the offline tokenizer's pattern (acsa.models.text): syllables/words and single punctuation marks
TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Span:
    """A token: ``text[start:end]`` of the original review."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class AlignedText:
    """A normalised text and, per normalised character, its ``[start, end)`` in the original."""

    original: str
    normal: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> Span:
        """The original characters behind normalised characters ``[start, end)``."""
        first, last = self.starts[start], self.ends[end - 1]
        return Span(first, last, self.original[first:last])


def _pieces(text: str, by_run: bool) -> list[tuple[int, int]]:
    """Ranges of ``text`` normalised independently: a base character with its combining
    marks, or (``by_run``) a run of non-space characters / of spaces."""
    if by_run:
        return [m.span() for m in re.finditer(r"\s+|\S+", text)]
    out: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if out and unicodedata.combining(ch):
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def aligned_normal_form(text: str, lowercase: bool = True) -> AlignedText:
    """:func:`acsa.models.text.normalize` of ``text``, with each character's original range.

    Pieces are normalised one at a time; when that differs from normalising
    the whole text (compositions across pieces, context-dependent casing)
    it falls back to runs of non-space characters, then to the whole text,
    so the normal form always equals what the models read.
    """
    target = normalize(text, lowercase)
    for by_run in (False, True):
        starts: list[int] = []
        ends: list[int] = []
        parts: list[str] = []
        for start, end in _pieces(text, by_run):
            piece = normalize(text[start:end], lowercase)
            parts.append(piece)
            starts.extend([start] * len(piece))
            ends.extend([end] * len(piece))
        if "".join(parts) == target:
            return AlignedText(text, target, tuple(starts), tuple(ends))
    n = len(text)
    return AlignedText(text, target, (0,) * len(target), (n,) * len(target))


def token_spans(text: str, lowercase: bool = True) -> list[Span]:
    """The offline tokenizer's tokens of ``text``, as the user wrote them, in order.

    ``[s.text for s in token_spans(t)]`` equals :func:`acsa.models.text.tokenize`
    up to normalisation (each ``Span.text`` is the original spelling).
    """
    aligned = aligned_normal_form(text, lowercase)
    return [aligned.span(*m.span()) for m in TOKEN_RE.finditer(aligned.normal)]


def token_index_of_chars(aligned: AlignedText) -> list[int]:
    """Per normalised character, the index of its token (:data:`TOKEN_RE` order; -1: space)."""
    owner = [-1] * len(aligned.normal)
    for index, match in enumerate(TOKEN_RE.finditer(aligned.normal)):
        for position in range(*match.span()):
            owner[position] = index
    return owner
