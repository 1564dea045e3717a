"""The training pipeline end to end on small data (fast), and on the full data (slow)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from acsa.training.config import AcsaConfig, config_from_dict

ASPECTS = ["Battery", "Camera", "Price", "Shipping"]
_KEYWORDS = {"Battery": "pin", "Camera": "camera", "Price": "giá", "Shipping": "giao hàng"}
_POLARITY_WORDS = {
    "Positive": ["tốt", "rất tốt", "tuyệt vời", "ổn áp"],
    "Negative": ["tệ", "kém", "quá tệ", "thất vọng"],
    "Neutral": ["bình thường", "tạm được"],
}
_FILLER = ["máy", "mình", "mua", "shop", "hôm", "qua", "nói", "chung", "thì", "cũng"]


def synthetic_rows(count: int, seed: int) -> list[dict[str, str]]:
    """Reviews with a learnable signal: aspect keyword + polarity word, plus filler."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        row = {a: "" for a in ASPECTS}
        phrases = []
        for aspect in rng.sample(ASPECTS, rng.choice([1, 1, 2])):
            label = rng.choices(["Positive", "Negative", "Neutral"], [0.5, 0.35, 0.15])[0]
            row[aspect] = label
            phrases.append(f"{_KEYWORDS[aspect]} {rng.choice(_POLARITY_WORDS[label])}")
        filler = " ".join(rng.choices(_FILLER, k=rng.randint(1, 6)))
        rows.append({"data": f"{filler} " + ", ".join(phrases), **row})
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_synthetic_data(folder: Path, sizes: tuple[int, int, int] = (300, 100, 120)) -> Path:
    """train.csv, validation.csv, test.csv of synthetic reviews in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = ["data", *ASPECTS]
    for seed, (name, size) in enumerate(zip(("train", "validation", "test"), sizes, strict=True)):
        write_csv(folder / f"{name}.csv", synthetic_rows(size, seed), columns)
    return folder


TINY_OFFLINE = {
    "encoder": "offline",
    "embedding_dim": 32,
    "hidden_size": 32,
    "num_layers": 1,
    "max_length": 64,
    "embedding_dropout": 0.0,
    "head": {"hidden_dim": 32, "dropout": 0.0, "projection_dim": 16},
}


def small_config(
    data_dir: Path,
    out: Path,
    *,
    aspects: list[str] | None = None,
    model: dict[str, Any] | None = None,
    loss: dict[str, Any] | None = None,
    **training: Any,
) -> AcsaConfig:
    raw: dict[str, Any] = {
        "data": {
            "dir": str(data_dir),
            "train": "train.csv",
            "validation": "validation.csv",
            "test": "test.csv",
            "aspects": aspects or ASPECTS,
        },
        "model": dict(model or TINY_OFFLINE),
        "loss": dict(loss or {"type": "cross_entropy"}),
        "training": {
            "epochs": 4,
            "batch_size": 16,
            "learning_rate": 0.01,
            "early_stopping_patience": 0,
            "logging_steps": 5,
            "progress_bar": False,
            "log_gradient_stats": False,
            **training,
        },
        "output": {"dir": str(out)},
    }
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def trained_run(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from acsa.training.run import train

    out = tmp_path_factory.mktemp("runs") / "small"
    return train(small_config(synthetic_dir, out), quiet=True)


def test_short_run_beats_majority_baseline(trained_run: Any) -> None:
    from acsa.evaluation import compute_metrics

    test = trained_run.metrics["test"]
    # The majority class of every aspect is "none": it scores a pair F1 of 0.
    gold = np.zeros((4, len(ASPECTS)), dtype=np.int64)
    majority = compute_metrics(gold, gold, ASPECTS)["pair_f1"]
    assert test["pair_f1"] > majority + 0.3
    assert test["aspect_f1"] > 0.5
    assert len(trained_run.history) == 4
    assert all("eval_pair_f1" in e for e in trained_run.history)


def test_run_folder_contents(trained_run: Any) -> None:
    out: Path = trained_run.output_dir
    for name in ("config.yaml", "run.json", "metrics.json", "predictions.csv"):
        assert (out / name).is_file(), name
    assert (out / "model" / "model.safetensors").is_file()
    assert list((out / "logs").glob("events.*"))
    assert list(out.glob("*.png"))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["pair_f1"] == pytest.approx(trained_run.metrics["test"]["pair_f1"])
    assert "validation" in metrics
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["seed"] == 42 and run["global_step"] == trained_run.global_step
    # every loss part is logged
    assert any("classification_loss" in e for e in trained_run.log_history)


_CODE = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}


def _read_labels(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and canonical labels of a wide CSV, read with pandas (not acsa's reader)."""
    import pandas as pd

    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    labels = np.array([[_CODE[v.strip()] for v in frame[a]] for a in ASPECTS]).T
    return frame["data"].tolist(), labels


def test_metrics_json_recomputed_from_predictions_and_gold_file(
    trained_run: Any, synthetic_dir: Path
) -> None:
    from sklearn.metrics import f1_score

    texts, pred = _read_labels(trained_run.output_dir / "predictions.csv")
    gold_texts, gold = _read_labels(synthetic_dir / "test.csv")
    assert texts == gold_texts
    metrics = json.loads((trained_run.output_dir / "metrics.json").read_text(encoding="utf-8"))

    def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        return tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)

    def pair_counts(g: np.ndarray, p: np.ndarray) -> tuple[int, int, int]:
        tp = int(((g != 0) & (g == p)).sum())
        return tp, int(((p != 0) & (p != g)).sum()), int(((g != 0) & (p != g)).sum())

    tp, fp, fn = pair_counts(gold, pred)
    # precision and recall differ, so swapping gold and predictions would show
    assert fp != fn
    assert (metrics["pair_tp"], metrics["pair_fp"], metrics["pair_fn"]) == (tp, fp, fn)
    precision, recall, f1 = prf(tp, fp, fn)
    assert metrics["pair_precision"] == pytest.approx(precision, abs=1e-12)
    assert metrics["pair_recall"] == pytest.approx(recall, abs=1e-12)
    assert metrics["pair_f1"] == pytest.approx(f1, abs=1e-12)
    g_on, p_on = gold != 0, pred != 0
    a_tp = int((g_on & p_on).sum())
    a_fp, a_fn = int((p_on & ~g_on).sum()), int((g_on & ~p_on).sum())
    assert a_fp != a_fn
    a_precision, a_recall, _ = prf(a_tp, a_fp, a_fn)
    assert metrics["aspect_precision"] == pytest.approx(a_precision, abs=1e-12)
    assert metrics["aspect_recall"] == pytest.approx(a_recall, abs=1e-12)
    # sentiment macro-F1 over the cells whose *gold* label is a polarity
    scored = gold != 0
    present = sorted(set(gold[scored]) | (set(pred[scored]) - {0}))
    macro = f1_score(gold[scored], pred[scored], labels=present, average="macro")
    assert metrics["sentiment_macro_f1"] == pytest.approx(macro, abs=1e-12)
    for j, aspect in enumerate(ASPECTS):
        entry = metrics["per_aspect"][aspect]
        counts = pair_counts(gold[:, j], pred[:, j])
        assert (entry["pair_tp"], entry["pair_fp"], entry["pair_fn"]) == counts
        assert entry["support_mentioned"] == int(g_on[:, j].sum())
        assert entry["predicted_mentioned"] == int(p_on[:, j].sum())


def _scramble_weights_at_epoch_end(epoch: int) -> Any:
    """Replace every weight by seeded noise at the end of ``epoch``, before its evaluation.

    The evaluation of that epoch (and of any later one) then scores far below
    the earlier ones, so "the best evaluation" and "the last one" differ.
    """
    from transformers import TrainerCallback

    class Scramble(TrainerCallback):
        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if round(state.epoch) != epoch:
                return
            generator = torch.Generator().manual_seed(1234)
            with torch.no_grad():
                for param in kwargs["model"].parameters():
                    noise = torch.randn(param.shape, generator=generator, dtype=param.dtype)
                    param.copy_(noise * 3.0)

    return Scramble()


@pytest.fixture(scope="module")
def degraded_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("degraded_data"), sizes=(120, 60, 20))


@pytest.fixture(scope="module")
def degraded_run(degraded_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Three epochs whose last evaluation is ruined on purpose (weights scrambled)."""
    from acsa.training.run import train

    config = small_config(
        degraded_data,
        tmp_path_factory.mktemp("runs") / "degraded",
        epochs=3,
        decision_thresholds=False,
        baseline=False,
    )
    return train(config, quiet=True, callbacks=[_scramble_weights_at_epoch_end(3)])


def test_best_evaluation_is_restored_and_saved_not_the_last(
    degraded_run: Any, degraded_data: Path
) -> None:
    from acsa.api import evaluate

    scores = [e["eval_pair_f1"] for e in degraded_run.history]
    assert len(scores) == 3
    best = int(np.argmax(scores))
    # the fixture works as intended: the last evaluation is clearly the worst
    assert best < 2 and scores[-1] < scores[best] - 0.2, scores
    # the bookkeeping reports the best evaluation, not the last one
    validation = degraded_run.metrics["validation"]
    assert validation["eval_pair_f1"] == scores[best]
    assert validation["step"] == degraded_run.history[best]["step"]
    run = json.loads((degraded_run.output_dir / "run.json").read_text(encoding="utf-8"))
    assert run["best_validation"]["eval_pair_f1"] == scores[best]
    # its checkpoint folder is gone after a finished run (model/ holds it): not named
    assert run["best_checkpoint"] is None
    assert not (degraded_run.output_dir / "checkpoints").exists()
    assert degraded_run.best_checkpoint.endswith(f"checkpoint-{degraded_run.history[best]['step']}")
    # and the model saved on disk is that evaluation's model: scored again from the
    # saved files on the validation split, it reproduces the best score, not the last
    saved = evaluate(degraded_run.model_dir, degraded_data / "validation.csv", plots=False)
    assert saved["argmax"]["pair_f1"] == pytest.approx(scores[best], abs=1e-9)
    assert saved["argmax"]["pair_f1"] != pytest.approx(scores[-1], abs=1e-3)


def test_resolved_config_reloads(trained_run: Any) -> None:
    from acsa.training.config import load_config

    config = load_config(trained_run.output_dir / "config.yaml")
    assert config.data.aspects == ASPECTS
    assert config.training.epochs == 4


def test_save_load_round_trip(trained_run: Any, synthetic_dir: Path) -> None:
    import pandas as pd

    from acsa.api import evaluate, predict

    frame = pd.read_csv(
        trained_run.output_dir / "predictions.csv", encoding="utf-8-sig", keep_default_na=False
    )
    texts = frame["data"].tolist()
    predictions = predict(trained_run.model_dir, texts)
    for aspect in ASPECTS:
        reloaded = [p.aspects.get(aspect, "") for p in predictions]
        written = [str(v).lower() for v in frame[aspect].tolist()]
        assert reloaded == written
    metrics = evaluate(trained_run.model_dir, synthetic_dir / "test.csv")
    assert metrics["pair_f1"] == pytest.approx(trained_run.metrics["test"]["pair_f1"], abs=1e-9)


def test_existing_run_is_not_overwritten(trained_run: Any, synthetic_dir: Path) -> None:
    from acsa.errors import ConfigError
    from acsa.training.run import train

    with pytest.raises(ConfigError, match="already holds a run"):
        train(small_config(synthetic_dir, trained_run.output_dir))


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def _stop_after_first_epoch() -> Any:
    """Stands in for a kill after the first checkpoint (a clean stop keeps the test fast)."""
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            control.should_training_stop = True

    return Stop()


def test_resume_continues_at_the_same_step(synthetic_dir: Path, tmp_path: Path) -> None:
    from acsa.training.run import train

    config = small_config(synthetic_dir, tmp_path / "full", epochs=2, learning_rate=0.005)
    full = train(config, quiet=True)

    interrupted_cfg = small_config(synthetic_dir, tmp_path / "cut", epochs=2, learning_rate=0.005)
    first = train(interrupted_cfg, quiet=True, callbacks=[_stop_after_first_epoch()])
    steps_per_epoch = full.global_step // 2
    assert first.global_step == steps_per_epoch
    resumed = train(interrupted_cfg, resume=True, quiet=True)
    assert resumed.global_step == full.global_step
    run = json.loads((tmp_path / "cut" / "run.json").read_text(encoding="utf-8"))
    assert run["resumed_from"] == f"checkpoints/checkpoint-{steps_per_epoch}"
    # Same seed, same data order, same optimizer state: the same weights.
    a, b = _weights(full.model_dir), _weights(resumed.model_dir)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    assert resumed.metrics["test"]["pair_f1"] == pytest.approx(full.metrics["test"]["pair_f1"])


def test_ghm_with_contrastive_trains_and_logs_parts(synthetic_dir: Path, tmp_path: Path) -> None:
    from acsa.training.run import train

    loss = {
        "type": "ghm",
        "bins": 10,
        "momentum": 0.75,
        "contrastive": {"type": "soft_contrastive", "temperature": 0.1},
        "classification_weight": 0.95,
        "contrastive_weight": 0.05,
    }
    config = small_config(
        synthetic_dir,
        tmp_path / "ghm",
        loss=loss,
        epochs=1,
        log_gradient_stats=True,
        keep_checkpoints=True,
    )
    result = train(config, quiet=True)
    logged = [e for e in result.log_history if "contrastive_loss" in e]
    assert logged and all(np.isfinite(e["classification_loss"]) for e in logged)
    checkpoint = Path(result.output_dir) / "checkpoints"
    assert list(checkpoint.glob("checkpoint-*/loss_state.safetensors"))
    assert (result.output_dir / "gradient_stats.jsonl").is_file()


def test_nan_loss_stops_with_step_and_part(synthetic_dir: Path, tmp_path: Path) -> None:
    from acsa.errors import TrainingError
    from acsa.training.run import train

    config = small_config(synthetic_dir, tmp_path / "nan", epochs=1)
    with pytest.raises(TrainingError, match=r"step 1 .*'classification'"):
        train(config, quiet=True, callbacks=[_poison()])


def test_nan_loss_skip_policy_counts(synthetic_dir: Path, tmp_path: Path) -> None:
    from acsa.training.run import train

    config = small_config(synthetic_dir, tmp_path / "skip", epochs=1, nan_policy="skip")
    result = train(config, quiet=True, callbacks=[_poison(every=3)])
    assert result.skipped_batches > 0
    assert any(e.get("skipped_batches", 0) > 0 for e in result.log_history)
    run = json.loads((result.output_dir / "run.json").read_text(encoding="utf-8"))
    assert run["skipped_batches"] == result.skipped_batches


_POISON: dict[str, Any] = {"on": False}


def _poison(every: int = 1) -> Any:
    """A callback that makes the loss NaN on every ``every``-th optimizer step."""
    from transformers import TrainerCallback

    class Poison(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _POISON["on"] = state.global_step % every == 0

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            _POISON["on"] = False

    return Poison()


@pytest.fixture(autouse=True)
def _patch_loss_for_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route the CombinedLoss output through a NaN injector controlled by _POISON."""
    from acsa.losses import combined

    original = combined.CombinedLoss.forward
    _POISON["on"] = False

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if _POISON.get("on") and self.training:
            nan = out.total * float("nan")
            parts = dict(out.parts)
            parts["classification"] = parts["classification"] * float("nan")
            return combined.LossOutput(total=nan, parts=parts)
        return out

    monkeypatch.setattr(combined.CombinedLoss, "forward", forward)


def test_huggingface_path_trains_and_reloads_identically(tmp_path: Path) -> None:
    from acsa.api import Predictor
    from acsa.training.run import train
    from tests.helpers.tiny_bert import build_tiny_bert

    data_dir = write_synthetic_data(tmp_path / "data", sizes=(120, 40, 40))
    bert = build_tiny_bert(tmp_path / "bert", texts=[r["data"] for r in synthetic_rows(200, 9)])
    model = {
        "encoder": "huggingface",
        "name_or_path": str(bert),
        "max_length": 64,
        "head": {"hidden_dim": 32, "projection_dim": 0},
    }
    config = small_config(data_dir, tmp_path / "hf", model=model, epochs=1, learning_rate=0.001)
    result = train(config, quiet=True)
    assert result.metrics["test"] is not None
    texts = [r["data"] for r in synthetic_rows(30, 5)]
    first = Predictor.load(result.model_dir).backend.predict_logits(texts)
    second = Predictor.load(result.output_dir).backend.predict_logits(texts)
    np.testing.assert_array_equal(first, second)
    # and the reloaded model reproduces the trainer's own test predictions
    import pandas as pd

    frame = pd.read_csv(
        result.output_dir / "predictions.csv", encoding="utf-8-sig", keep_default_na=False
    )
    from acsa.api import predict

    predicted = predict(result.model_dir, frame["data"].tolist())
    for aspect in ASPECTS:
        assert [p.aspects.get(aspect, "") for p in predicted] == [
            str(v).lower() for v in frame[aspect].tolist()
        ]


@pytest.mark.slow
def test_quickstart_reaches_targets(shared_data_dir: Path, tmp_path: Path) -> None:
    from acsa.training.config import load_config
    from acsa.training.run import train

    root = Path(__file__).resolve().parents[1]
    config = load_config(
        root / "configs" / "quickstart.yaml",
        {"data.dir": str(shared_data_dir), "output.dir": str(tmp_path / "quickstart")},
    )
    started = time.perf_counter()
    result = train(config, quiet=True)
    elapsed = time.perf_counter() - started
    test = result.metrics["test"]
    print(
        f"quickstart: {elapsed:.0f} s, pair F1 {test['pair_f1']:.4f}, "
        f"aspect F1 {test['aspect_f1']:.4f}"
    )
    assert test["pair_f1"] >= 0.83
    assert test["aspect_f1"] >= 0.86


def test_evaluation_reads_the_split_longest_review_first(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    # Transformers' length-grouped sampler would read it in random chunks, each batch
    # padded to the longest of its random reviews (AcsaTrainer._get_eval_sampler)
    from acsa.data.indexed import INDEX_KEY, encode_split
    from acsa.models import build_model
    from acsa.training import run as run_module
    from acsa.training.budget import plan_budget

    config = run_module._resolve_aspects(
        small_config(synthetic_dir, tmp_path / "run", eval_batch_size=16)
    )
    splits = run_module._load_splits(config)
    space = config.data.label_space
    model, featurizer = build_model(config.model, space, splits["train"].texts)
    datasets = {name: encode_split(r, featurizer, space) for name, r in splits.items()}
    validation = datasets["validation"].longest_first()
    datasets["validation"] = validation
    trainer = run_module._make_trainer(
        config,
        tmp_path / "run",
        model,
        featurizer,
        datasets,
        splits,
        run_module._build_loss(config, splits["train"]),
        [],
        plan_budget(config.training, len(splits["train"])),
    )
    assert trainer.args.train_sampling_strategy == "group_by_length"
    read = [int(i) for batch in trainer.get_eval_dataloader() for i in batch[INDEX_KEY]]
    assert read == validation.order
    widths = [batch["input_ids"].shape[1] for batch in trainer.get_eval_dataloader()]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
