"""Export a saved model to ONNX, for ONNX Runtime (:mod:`acsa.models.onnx_backend`).

The graph maps the featurizer's collated tensors to the logits; tokenization
and padding stay in Python (the featurizer saved with the model), so the
ONNX file holds only the network:

* offline encoder: ``input_ids``, ``attention_mask`` ``[B, T]``, ``char_ids``
  ``[B, T, K]`` and ``bag_ids`` ``[B, L]`` (int64; the ones its config uses);
* Hugging Face encoder: ``input_ids``, ``attention_mask`` ``[B, T]``;
* output ``logits`` ``[B, A, C]`` (float32, the label scheme's class order).

Every size but ``A`` and ``C`` is a dynamic axis. The exported folder is a
loadable model folder: the source folder's description and featurizer files
plus ``model.onnx`` (one file while the weights fit protobuf's 2 GB; beyond
:data:`ONE_FILE_LIMIT` ``model.onnx.data`` beside it) and the run's
``config.yaml`` and ``metrics.json`` when found, so that the folder describes
itself (``/v1/model``). Exporting into the model's own folder adds
``model.onnx`` beside ``model.safetensors`` and the folder then serves both
runtimes.

Opset 18 is what ``torch.onnx``'s exporter emits natively (no version
conversion pass) and what every onnxruntime since 1.14 runs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from acsa.errors import CheckpointArgumentError, CheckpointError, first_line, optional_import
from acsa.models.model import AcsaModel
from acsa.models.onnx_backend import create_session
from acsa.models.saved import (
    CONFIG_FILE,
    ONNX_DATA_FILE,
    ONNX_FILE,
    WEIGHTS_FILE,
    read_metadata,
    resolve_model_dir,
)

ONNX_OPSET = 18
EXPORTABLE_ENCODERS = ("offline", "huggingface")
# graph input order; a model uses the names its encoder reads
INPUT_ORDER = ("input_ids", "attention_mask", "char_ids", "bag_ids")
# the largest |onnxruntime - PyTorch| logit difference an export may show on its check batch
EXPORT_TOLERANCE = 1e-4
_EXAMPLE_SIZES = {"batch": 3, "seq": 7, "chars": 4, "bag": 5}
_CHECK_SIZES = {"batch": 5, "seq": 11, "chars": 6, "bag": 9}
_AXES = {
    "input_ids": ("batch", "seq"),
    "attention_mask": ("batch", "seq"),
    "char_ids": ("batch", "seq", "chars"),
    "bag_ids": ("batch", "bag"),
}


class _MeanBag(nn.Module):
    """``nn.EmbeddingBag(mode="mean", padding_idx=0)`` on 2-D ids, written with ONNX-native ops.

    ONNX has no embedding-bag operator; the exporter turns one with a
    ``padding_idx`` into a loop that runs about 20 times slower than a gather
    followed by a sum. Row 0 of the copied table is zeroed, so padding adds
    nothing to the sum and only the count has to skip it.
    """

    def __init__(self, bag: nn.EmbeddingBag) -> None:
        super().__init__()
        weight = bag.weight.detach().clone()
        weight[0] = 0.0
        self.weight = nn.Parameter(weight, requires_grad=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        count = (ids != 0).sum(dim=1, keepdim=True).to(self.weight.dtype)
        total = nn.functional.embedding(ids, self.weight).sum(dim=1)
        return total / count.clamp(min=1.0)


class _LogitsGraph(nn.Module):
    """What is exported: named feature tensors in, ``logits`` out."""

    def __init__(self, model: AcsaModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor | None = None,
        bag_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        features = {"input_ids": input_ids, "attention_mask": attention_mask}
        if char_ids is not None:
            features["char_ids"] = char_ids
        if bag_ids is not None:
            features["bag_ids"] = bag_ids
        return self.model(**features)["logits"]


def graph_input_names(model: AcsaModel) -> list[str]:
    """The ONNX graph's input names for ``model``, in :data:`INPUT_ORDER`."""
    encoder = model.encoder
    names = [n for n in INPUT_ORDER if n in encoder.feature_names]
    if getattr(encoder, "char_embedding", "absent") is None:
        names.remove("char_ids")
    if getattr(encoder, "bag_embedding", "absent") is None:
        names.remove("bag_ids")
    return [n for n in names if n != "token_type_ids"]


def _exportable_copy(model: AcsaModel) -> AcsaModel:
    graph_model = copy.deepcopy(model).eval()
    encoder = graph_model.encoder
    for name in ("char_embedding", "bag_embedding"):
        bag = getattr(encoder, name, None)
        if isinstance(bag, nn.EmbeddingBag):
            setattr(encoder, name, _MeanBag(bag))
    return graph_model


def _vocab_limits(model: AcsaModel) -> dict[str, int]:
    """Exclusive upper bounds of the ids each input may hold (for random example inputs)."""
    encoder = model.encoder
    if hasattr(encoder, "backbone"):
        return {"input_ids": int(encoder.backbone.config.vocab_size)}
    limits = {"input_ids": encoder.token_embedding.num_embeddings}
    if encoder.char_embedding is not None:
        limits["char_ids"] = encoder.char_embedding.num_embeddings
    if encoder.bag_embedding is not None:
        limits["bag_ids"] = encoder.bag_embedding.num_embeddings
    return limits


def example_inputs(
    model: AcsaModel, sizes: dict[str, int], seed: int = 0
) -> dict[str, torch.Tensor]:
    """Random valid feature tensors of the given axis sizes (the last review is padded)."""
    generator = torch.Generator().manual_seed(seed)
    limits = _vocab_limits(model)
    batch, seq = sizes["batch"], sizes["seq"]
    lengths = torch.full((batch,), seq, dtype=torch.long)
    lengths[-1] = max(1, seq // 2)
    mask = (torch.arange(seq).unsqueeze(0) < lengths.unsqueeze(1)).long()
    out: dict[str, torch.Tensor] = {}
    for name in graph_input_names(model):
        if name == "attention_mask":
            out[name] = mask
            continue
        shape = tuple(sizes[axis] for axis in _AXES[name])
        ids = torch.randint(2, max(3, limits[name]), shape, generator=generator)
        if name in ("input_ids", "char_ids"):
            keep = mask if name == "input_ids" else mask.unsqueeze(-1)
            ids = ids * keep
        out[name] = ids
    return out


def _dynamic_shapes(names: list[str], max_seq: int | None) -> dict[str, dict[int, object]]:
    from torch.export import Dim

    dims = {
        "batch": Dim("batch", min=1),
        "seq": Dim("seq", min=1, max=max_seq) if max_seq else Dim("seq", min=1),
        "chars": Dim("chars", min=1),
        "bag": Dim("bag", min=1),
    }
    return {name: {i: dims[axis] for i, axis in enumerate(_AXES[name])} for name in names}


def _max_sequence(model: AcsaModel) -> int | None:
    encoder = model.encoder
    if not hasattr(encoder, "backbone"):
        return None
    config = encoder.backbone.config
    positions = int(getattr(config, "max_position_embeddings", 0) or 0)
    # RoBERTa-style position ids start after the padding index
    offset = (
        int(getattr(config, "pad_token_id", 0) or 0) + 1 if "roberta" in config.model_type else 0
    )
    return positions - offset if positions > offset else None


# weights up to this size go inside model.onnx (protobuf's limit is 2 GiB a file;
# the graph itself needs some room); larger ones in model.onnx.data beside it
ONE_FILE_LIMIT = 1_800_000_000
# the run's files beside a model folder that describe it (GET /v1/model's loss and
# test_metrics): copied into an exported folder so that it describes itself
RUN_FILES = ("config.yaml", "metrics.json")


def weights_bytes(model: nn.Module) -> int:
    """The bytes of the model's parameters and buffers."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _copy_run_files(source: Path, output: Path) -> None:
    """The run's config and test metrics (beside ``source``) into ``output``, when found."""
    for name in RUN_FILES:
        if (output / name).exists():
            continue
        for candidate in (source / name, source.parent / name):
            if candidate.is_file():
                shutil.copy2(candidate, output / name)
                break


def _copy_model_files(source: Path, output: Path) -> None:
    for item in source.iterdir():
        if item.name in (WEIGHTS_FILE, ONNX_FILE, ONNX_DATA_FILE):
            continue
        target = output / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def _run_exporter(
    graph: nn.Module,
    inputs: dict[str, torch.Tensor],
    names: list[str],
    path: Path,
    opset: int,
    max_seq: int | None,
    external_data: bool = False,
) -> None:
    optional_import("onnxscript", "serve", "exporting to ONNX")
    # the exporter narrates each step on stdout and logs optimizer notes; a user needs neither
    quiet = io.StringIO()
    loggers = [logging.getLogger(n) for n in ("onnxscript", "onnx_ir", "torch.onnx")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(quiet), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                (),
                str(path),
                kwargs=inputs,
                input_names=names,
                output_names=["logits"],
                dynamic_shapes=_dynamic_shapes(names, max_seq),
                opset_version=opset,
                dynamo=True,
                external_data=external_data,
                verbose=False,
            )
    except Exception as exc:
        first = first_line(exc)
        raise CheckpointError(
            f"{path}: ONNX export failed ({type(exc).__name__}: {first})"
        ) from exc
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_onnx(
    model_dir: str | Path,
    output_dir: str | Path,
    *,
    opset: int = ONNX_OPSET,
    overwrite: bool = False,
) -> Path:
    """Export the saved model in ``model_dir`` to ``output_dir`` (a loadable model folder).

    After writing, the graph is run with onnxruntime on a batch of other
    sizes than the one it was traced with and compared with PyTorch; a
    difference above :data:`EXPORT_TOLERANCE` raises :class:`CheckpointError`.

    Args:
        model_dir: a saved model folder or a run folder holding one.
        output_dir: where the ONNX model folder goes; the model's own folder
            adds ``model.onnx`` beside its weights.
        opset: the ONNX opset version.
        overwrite: replace a model already in ``output_dir``.

    Returns:
        The output folder.
    """
    source = resolve_model_dir(model_dir)
    kind = read_metadata(source).encoder
    if kind not in EXPORTABLE_ENCODERS:
        raise CheckpointError(
            f"{source}: a {kind!r} model cannot be exported to ONNX (only "
            f"{', '.join(EXPORTABLE_ENCODERS)} encoders can); run it with PyTorch"
        )
    output = Path(output_dir).expanduser()
    in_place = output.exists() and output.resolve() == source.resolve()
    if output.exists() and not output.is_dir():
        raise CheckpointError(f"{output}: expected a folder for the ONNX model, found a file")
    if not in_place and not overwrite and output.is_dir():
        if (output / CONFIG_FILE).exists() or (output / ONNX_FILE).exists():
            raise CheckpointArgumentError(
                "{output}: already holds a model; choose another folder or pass {overwrite:True}",
                output=output,
            )
    if in_place and (output / ONNX_FILE).exists() and not overwrite:
        raise CheckpointArgumentError(
            "{path}: exists; pass {overwrite:True} to replace it", path=output / ONNX_FILE
        )

    model, _ = AcsaModel.from_pretrained(source)
    graph = _LogitsGraph(_exportable_copy(model)).eval()
    names = graph_input_names(model)
    output.mkdir(parents=True, exist_ok=True)
    for stale in (output / ONNX_FILE, output / ONNX_DATA_FILE):
        stale.unlink(missing_ok=True)
    _run_exporter(
        graph,
        example_inputs(model, _EXAMPLE_SIZES),
        names,
        output / ONNX_FILE,
        opset,
        _max_sequence(model),
        external_data=weights_bytes(model) > ONE_FILE_LIMIT,
    )
    if not in_place:
        _copy_model_files(source, output)
        _copy_run_files(source, output)
    _check_export(model, output / ONNX_FILE)
    return output


def _check_export(model: AcsaModel, path: Path) -> None:
    """onnxruntime and PyTorch agree on a batch of sizes the export did not trace."""
    inputs = example_inputs(model, _CHECK_SIZES, seed=1)
    with torch.inference_mode():
        expected = model(**inputs)["logits"].float().numpy()
    session = create_session(path)
    found = session.run(["logits"], {k: v.numpy() for k, v in inputs.items()})[0]
    gap = float(np.abs(found - expected).max())
    if not gap <= EXPORT_TOLERANCE:
        raise CheckpointError(
            f"{path}: onnxruntime differs from PyTorch by {gap:.2e} (> {EXPORT_TOLERANCE:g}) "
            "on a check batch; the export is not usable"
        )
