"""Build a tiny random BERT checkpoint with a WordPiece tokenizer, locally and offline.

The tokenizer is trained with ``tokenizers`` on a few hundred review texts (the
shared data when present, otherwise generated text), so the Hugging Face encoder
path is exercised exactly as with a real local checkpoint, without a download.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

SHARED_TRAIN = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "vi-smartphone-reviews"
    / "train.csv"
)
_WORDS = (
    "pin trâu camera đẹp màn hình sáng giao hàng nhanh chậm shop nhiệt tình giá rẻ đắt "
    "máy mượt lag nóng thiết kế sang trọng đóng gói cẩn thận tốt tệ không hài lòng rất khá"
).split()


def sample_texts(count: int = 300, seed: int = 0) -> list[str]:
    """``count`` review texts: the first rows of the shared train split, else synthetic ones."""
    if SHARED_TRAIN.is_file():
        frame = pd.read_csv(SHARED_TRAIN, encoding="utf-8-sig", usecols=["data"], nrows=count)
        texts = [str(t) for t in frame["data"].tolist()]
        if len(texts) == count:
            return texts
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(3, 25))) for _ in range(count)]


def build_tiny_bert(
    directory: str | Path,
    texts: Sequence[str] | None = None,
    vocab_size: int = 600,
    seed: int = 0,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 64,
    max_positions: int = 128,
) -> Path:
    """Write a random BERT (hidden 32, 2 layers, 2 heads by default) and its tokenizer.

    Returns the directory, usable as ``name_or_path`` of the Hugging Face encoder.
    Also used by ``benchmarks/train_throughput.py`` with a larger size.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    texts = list(texts) if texts is not None else sample_texts()

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    )
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    fast.save_pretrained(str(out))

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_positions,
        pad_token_id=tok.token_to_id("[PAD]"),
    )
    BertModel(config).save_pretrained(str(out))
    return out
