"""The blended default (issue 18): blend weights with their out-of-fold guard, the saved
folder, every consumer's path (api, predict, serve, ONNX), blend off == the network alone,
and the leakage guard: nothing learned after the network's weights sees the test split."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acsa import api
from acsa.errors import CheckpointError
from acsa.evaluation.blend import blend, fit_blend, fit_blend_weights
from acsa.evaluation.decision import DecisionRule, decide
from acsa.models.backend import TorchBackend, load_backend
from acsa.models.blended import BLEND_FILE, TFIDF_DIR, BlendedBackend, save_blend
from tests.helpers.serving import SYNTHETIC_ASPECTS, sample_reviews, shared_tiny_model
from tests.test_cli import run_cli
from tests.test_training import small_config, synthetic_rows, write_synthetic_data


def _probs(rng: np.random.Generator, gold: np.ndarray, boost: float) -> np.ndarray:
    logits = rng.normal(size=gold.shape + (4,))
    np.put_along_axis(logits, gold[..., None], boost, axis=-1)
    e = np.exp(logits)
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- fitting the weights


def test_weights_follow_the_better_model_per_aspect() -> None:
    rng = np.random.default_rng(0)
    gold = rng.choice(4, size=(400, 2), p=[0.7, 0.1, 0.05, 0.15])
    good, bad = _probs(rng, gold, 4.0), _probs(rng, gold, 0.2)
    # aspect 0: the network knows; aspect 1: the TF-IDF model knows
    net = np.stack([good[:, 0], bad[:, 1]], axis=1)
    tfidf = np.stack([bad[:, 0], good[:, 1]], axis=1)
    w = fit_blend_weights(net, tfidf, gold, mode="aspect")
    assert w[0] >= 0.8 and w[1] <= 0.2
    (g,) = set(fit_blend_weights(net, tfidf, gold, mode="global").tolist())
    assert 0.0 < g < 1.0
    mixed = blend(net, tfidf, np.array([1.0, 0.0]))
    np.testing.assert_array_equal(mixed[:, 0], net[:, 0])
    np.testing.assert_array_equal(mixed[:, 1], tfidf[:, 1])


def test_a_blend_that_wins_out_of_fold_is_kept_one_that_does_not_is_refused() -> None:
    rng = np.random.default_rng(1)
    gold = rng.choice(4, size=(500, 3), p=[0.7, 0.1, 0.05, 0.15])
    net, tfidf = _probs(rng, gold, 1.0), _probs(rng, gold, 1.0)
    # two independent noisy views: their average is clearly better than either
    kept = fit_blend(net, tfidf, gold, None, ["a", "b", "c"])
    assert kept.adopted and kept.check is not None and kept.check.gain > 0.005
    assert 0.0 < kept.weights.min() and kept.weights.max() < 1.0
    # the TF-IDF model adds nothing but noise: the network alone is kept
    useless = _probs(rng, rng.choice(4, size=gold.shape), 0.3)
    refused = fit_blend(net, useless, gold, None, ["a", "b", "c"])
    assert not refused.adopted
    np.testing.assert_array_equal(refused.weights, np.ones(3))
    # a margin nothing reaches refuses even the good blend, and says why
    strict = fit_blend(net, tfidf, gold, None, ["a", "b", "c"], margin=0.9)
    assert not strict.adopted and "margin" in strict.fitted_on["reason"]


# ---------------------------------------------------------------- the saved folder


@pytest.fixture(scope="module")
def blended_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny network, a TF-IDF model fitted on other synthetic reviews, weights 0.5 / 0.3
    / 0.7 / 1.0 and thresholds fitted on the blended probabilities of a third set."""
    from acsa.models.tfidf import TfidfAspectModel

    folder = tmp_path_factory.mktemp("blended") / "model"
    shutil.copytree(shared_tiny_model(), folder)
    rows = synthetic_rows(300, 7)
    labels = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}
    gold = np.array([[labels[r[a]] for a in SYNTHETIC_ASPECTS] for r in rows])
    tfidf = TfidfAspectModel().fit([r["data"] for r in rows], gold, None, SYNTHETIC_ASPECTS)
    weights = dict(zip(SYNTHETIC_ASPECTS, [0.5, 0.3, 0.7, 1.0], strict=True))
    save_blend(folder, tfidf, weights, {"split": "validation"})
    held = synthetic_rows(200, 8)
    held_gold = np.array([[labels[r[a]] for a in SYNTHETIC_ASPECTS] for r in held])
    probs = api.load(folder).predict_proba([r["data"] for r in held])
    DecisionRule.fit(probs, held_gold, None, SYNTHETIC_ASPECTS, cv_folds=0).save(folder)
    return folder


def test_blended_backend_is_the_weighted_mix_of_its_parts(blended_dir: Path) -> None:
    from acsa.evaluation.decision import canonical_probabilities
    from acsa.models.tfidf import TfidfAspectModel

    backend = load_backend(blended_dir)
    assert isinstance(backend, BlendedBackend) and isinstance(backend.network, TorchBackend)
    texts = sample_reviews(40)
    network = TorchBackend.load(blended_dir)
    p_net = canonical_probabilities(network.predict_logits(texts), network.label_space)
    p_tfidf = TfidfAspectModel.from_pretrained(blended_dir / TFIDF_DIR).predict_proba(texts)
    expected = blend(p_net, p_tfidf, np.array([0.5, 0.3, 0.7, 1.0]))
    found = api.load(blended_dir).predict_proba(texts)
    np.testing.assert_allclose(found, expected, atol=1e-5)
    assert not np.allclose(found, p_net, atol=1e-3)  # the TF-IDF part counts


def test_every_consumer_gives_the_blends_labels(
    blended_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """api.load (torch and ONNX), the server and `acsa predict` agree label for label."""
    from fastapi.testclient import TestClient

    from acsa.models.onnx_export import export_onnx
    from acsa.serve import ServeSettings, create_app

    texts = sample_reviews(30)
    reference = api.load(blended_dir)
    expected = reference.predict(texts)
    labels = [p.to_record() for p in expected]
    # ONNX: the network as a graph, the TF-IDF part and blend.json beside it
    onnx_dir = export_onnx(blended_dir, tmp_path / "onnx")
    assert (onnx_dir / BLEND_FILE).is_file() and (onnx_dir / TFIDF_DIR).is_dir()
    onnx = api.load(onnx_dir)
    assert isinstance(onnx.backend, BlendedBackend)
    assert type(onnx.backend.network).__name__ == "OnnxBackend"
    assert [p.to_record() for p in onnx.predict(texts)] == labels
    # the server
    with TestClient(create_app(ServeSettings(model_dir=blended_dir), reference)) as client:
        response = client.post("/v1/predict", json={"texts": texts})
        assert response.status_code == 200
        records = response.json()["predictions"]
    assert [
        {k: r[k] for k in ("text", "aspects", "confidence", "empty")} for r in records
    ] == labels
    # acsa predict, from a file (the local batch engine)
    source = tmp_path / "reviews.jsonl"
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    args = ["predict", str(blended_dir), "--input", str(source), "--json", "--output", str(out)]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records == labels
    assert any(r["aspects"] for r in records)


def test_damaged_or_incomplete_blends_are_one_line_errors(
    blended_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(blended_dir, broken)
    data = json.loads((broken / BLEND_FILE).read_text(encoding="utf-8"))
    data["weights"]["Battery"] = 1.5
    (broken / BLEND_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError, match="outside"):
        api.load(broken)
    shutil.rmtree(broken / TFIDF_DIR)
    with pytest.raises(CheckpointError, match="tfidf/ folder is missing"):
        api.load(broken)


def test_the_tfidf_part_loaded_beside_the_network_predicts_the_same(blended_dir: Path) -> None:
    from acsa.models.backend import load_backend as load

    texts = [r["data"] for r in synthetic_rows(40, 9)]
    background = BlendedBackend.load(blended_dir, load(blended_dir).network, background=True)
    at_once = BlendedBackend.load(blended_dir, load(blended_dir).network, background=False)
    np.testing.assert_array_equal(background.predict_logits(texts), at_once.predict_logits(texts))


def test_a_tfidf_part_that_fails_to_load_beside_the_network_fails_at_first_use(
    blended_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(blended_dir, broken)
    (broken / TFIDF_DIR / "model.safetensors").write_bytes(b"not safetensors")
    network = load_backend(blended_dir).network
    backend = BlendedBackend.load(broken, network, background=True)  # no error yet
    with pytest.raises(CheckpointError):
        backend.predict_logits(["pin tốt"])


# ---------------------------------------------------------------- train(): blend and guard


class _Spy:
    """Records the gold labels every learned choice after the network is fitted on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, np.ndarray]] = []
        self.splits: dict[str, Any] = {}


@pytest.fixture(scope="module")
def spied_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, _Spy]:
    import acsa.evaluation.blend as blend_module
    import acsa.evaluation.decision as decision_module
    import acsa.training.run as run_module
    from acsa.training.run import train

    spy = _Spy()
    patch = pytest.MonkeyPatch()
    original_fit = DecisionRule.fit.__func__  # type: ignore[attr-defined]
    original_thresholds = decision_module.fit_thresholds
    original_weights = blend_module.fit_blend_weights
    original_load = run_module._load_splits

    def fit(cls: Any, probs: Any, gold: Any, *args: Any, **kwargs: Any) -> Any:
        spy.calls.append(("DecisionRule.fit", np.asarray(gold)))
        return original_fit(cls, probs, gold, *args, **kwargs)

    def thresholds(probs: Any, gold: Any, *args: Any, **kwargs: Any) -> Any:
        spy.calls.append(("fit_thresholds", np.asarray(gold)))
        return original_thresholds(probs, gold, *args, **kwargs)

    def weights(p_net: Any, p_tfidf: Any, gold: Any, *args: Any, **kwargs: Any) -> Any:
        spy.calls.append(("fit_blend_weights", np.asarray(gold)))
        return original_weights(p_net, p_tfidf, gold, *args, **kwargs)

    def load(config: Any) -> Any:
        spy.splits = original_load(config)
        return spy.splits

    patch.setattr(DecisionRule, "fit", classmethod(fit))
    patch.setattr(decision_module, "fit_thresholds", thresholds)
    patch.setattr(blend_module, "fit_blend_weights", weights)
    patch.setattr(run_module, "_load_splits", load)
    root = tmp_path_factory.mktemp("spied")
    data = write_synthetic_data(root / "data", sizes=(300, 100, 130))
    try:
        result = train(small_config(data, root / "run", epochs=2), write_plots=False, quiet=True)
    finally:
        patch.undo()
    return result, spy


def _rows(labels: np.ndarray) -> Counter[tuple[int, ...]]:
    return Counter(tuple(int(v) for v in row) for row in labels)


def test_nothing_learned_after_the_network_sees_the_test_split(
    spied_run: tuple[Any, _Spy],
) -> None:
    """Thresholds, blend weights and decision rules are fitted on validation reviews only:
    whole-split calls get exactly the validation labels, fold calls a subset of them."""
    _result, spy = spied_run
    validation = spy.splits["validation"].labels
    test = spy.splits["test"].labels
    assert len(test) != len(validation)
    kinds = {name for name, _ in spy.calls}
    assert kinds == {"DecisionRule.fit", "fit_thresholds", "fit_blend_weights"}
    whole = Counter(name for name, gold in spy.calls if len(gold) == len(validation))
    assert whole["DecisionRule.fit"] >= 2 and whole["fit_blend_weights"] >= 1
    allowed = _rows(validation)
    for name, gold in spy.calls:
        assert len(gold) <= len(validation), (name, len(gold))
        if len(gold) == len(validation):
            np.testing.assert_array_equal(gold, validation, err_msg=name)
        else:
            assert not (_rows(gold) - allowed), f"{name} saw rows outside the validation split"


def test_train_reports_network_tfidf_and_blend_side_by_side(
    spied_run: tuple[Any, _Spy],
) -> None:
    result, _ = spied_run
    metrics = json.loads((result.output_dir / "metrics.json").read_text(encoding="utf-8"))
    for side in ("network", "blend"):
        assert {"test", "validation"} <= set(metrics[side]), side
    assert {"test", "validation"} <= set(metrics["baseline"])
    blend_info = metrics["blend"]
    assert isinstance(blend_info["adopted"], bool) and blend_info["reason"]
    saved = "blend" if blend_info["adopted"] else "network"
    assert metrics["pair_f1"] == pytest.approx(metrics[saved]["test"]["pair_f1"])
    assert (result.model_dir / BLEND_FILE).is_file() == blend_info["adopted"]
    run = json.loads((result.output_dir / "run.json").read_text(encoding="utf-8"))
    assert "blend" in run["timings_s"] and run["blend"] == blend_info["adopted"]
    # the reloaded model scores what the run reported
    reloaded = api.evaluate(result.output_dir, result.output_dir.parent / "data" / "test.csv")
    assert reloaded["pair_f1"] == pytest.approx(metrics["pair_f1"], abs=1e-9)


def test_blend_off_saves_the_network_alone(tmp_path: Path) -> None:
    from acsa.training.run import train

    data = write_synthetic_data(tmp_path / "data", sizes=(200, 80, 60))
    result = train(
        small_config(data, tmp_path / "run", epochs=1, blend="off", threshold_cv_folds=0),
        write_plots=False,
        quiet=True,
    )
    assert not (result.model_dir / BLEND_FILE).exists()
    assert not (result.model_dir / TFIDF_DIR).exists()
    assert isinstance(load_backend(result.model_dir), TorchBackend)
    metrics = json.loads((result.output_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["blend"] == {"adopted": False, "reason": "training.blend: off"}
    assert metrics["pair_f1"] == pytest.approx(metrics["network"]["test"]["pair_f1"])
    # the saved rule is the network's own, as before the blend existed
    rule = DecisionRule.load(result.model_dir)
    probs = api.load(result.model_dir).predict_proba(list(result.test_predictions.texts))
    np.testing.assert_array_equal(rule.decide(probs), result.test_predictions.pred)
    np.testing.assert_array_equal(
        decide(probs, rule.thresholds), api.load(result.model_dir).decide(probs)
    )


def test_clearing_a_blend_leaves_the_network_alone(blended_dir: Path, tmp_path: Path) -> None:
    from acsa.models.blended import clear_blend

    folder = tmp_path / "model"
    shutil.copytree(blended_dir, folder)
    clear_blend(folder)
    assert not (folder / BLEND_FILE).exists() and not (folder / TFIDF_DIR).exists()
    assert isinstance(load_backend(folder), TorchBackend)


def test_a_blend_is_explained_by_its_parts_weighted_by_their_share(blended_dir: Path) -> None:
    """Each token's contribution is a * network evidence + b * TF-IDF evidence, with a and b
    the parts' shares of the blended probability of the predicted label."""
    from acsa.evaluation.decision import canonical_probabilities
    from acsa.explain.run import explain_labels

    backend = load_backend(blended_dir)
    texts = sample_reviews(12)
    predictor = api.load(blended_dir)
    labels = predictor.decide(predictor.predict_proba(texts))
    blended = explain_labels(backend, texts, labels, n_steps=8)
    network = explain_labels(backend.network, texts, labels, n_steps=8)
    p_net = canonical_probabilities(backend.network.predict_logits(texts), backend.label_space)
    p_tfidf = backend.tfidf.predict_proba(texts)
    weights = [0.5, 0.3, 0.7, 1.0]
    checked = 0
    for i, evidence in enumerate(blended):
        mentioned = {SYNTHETIC_ASPECTS[a] for a in np.flatnonzero(labels[i] != 0)}
        assert set(evidence) == mentioned
        for name, ev in evidence.items():
            a = SYNTHETIC_ASPECTS.index(name)
            y = int(labels[i, a])
            net, tf = weights[a] * p_net[i, a, y], (1 - weights[a]) * p_tfidf[i, a, y]
            share = net / (net + tf)
            assert ev.method == "blend_of_parts"
            assert ev.extra["network_share"] == pytest.approx(share, abs=1e-5)
            if weights[a] == 1.0:  # the network alone: its evidence unchanged
                for mine, theirs in zip(ev.tokens, network[i][name].tokens, strict=True):
                    assert mine.contribution == pytest.approx(theirs.contribution)
            else:
                tfidf_only = [t.contribution for t in ev.tokens]
                net_only = [t.contribution for t in network[i][name].tokens]
                assert not np.allclose(tfidf_only, net_only)  # the TF-IDF part counts
            checked += 1
    assert checked > 0
