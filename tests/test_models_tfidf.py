"""The TF-IDF baseline: fit, predict, save/load without pickle, damaged files, reference scores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.exceptions import NotFittedError

from acsa.errors import CheckpointError
from acsa.models.tfidf import TfidfAspectModel, TfidfModelConfig
from tests.conftest import PROJECT_ROOT

ASPECTS = ("Battery", "Camera", "Screen")

# Battery: 4 classes; Camera: none/positive only (binary); Screen: never mentioned
BASE = [
    ("pin tốt lắm", [3, 0, 0]),
    ("pin rất tốt", [3, 0, 0]),
    ("pin tốt dùng lâu", [3, 0, 0]),
    ("pin kém quá", [1, 0, 0]),
    ("pin kém hao nhanh", [1, 0, 0]),
    ("pin bình thường", [2, 0, 0]),
    ("pin cũng bình thường", [2, 0, 0]),
    ("camera đẹp", [0, 3, 0]),
    ("camera chụp đẹp lắm", [0, 3, 0]),
    ("camera rất đẹp", [0, 3, 0]),
    ("giao hàng nhanh", [0, 0, 0]),
    ("shop nhiệt tình", [0, 0, 0]),
]


def _data(repeat: int = 3) -> tuple[list[str], np.ndarray]:
    texts = [f"{t} {i}" for i in range(repeat) for t, _ in BASE]
    labels = np.array([lab for _ in range(repeat) for _, lab in BASE], dtype=np.int64)
    return texts, labels


@pytest.fixture(scope="module")
def fitted() -> TfidfAspectModel:
    texts, labels = _data()
    return TfidfAspectModel().fit(texts, labels, np.ones_like(labels, dtype=bool), ASPECTS)


def test_predictions_shapes_and_classes(fitted: TfidfAspectModel) -> None:
    probs = fitted.predict_proba(["pin tốt", "pin kém", "camera đẹp", "giao hàng"])
    assert probs.shape == (4, 3, 4) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)
    assert fitted.predict(["pin tốt", "pin kém", "camera đẹp", "giao hàng"]).tolist() == [
        [3, 0, 0],
        [1, 0, 0],
        [0, 3, 0],
        [0, 0, 0],
    ]
    # Camera only ever had none and positive: the other classes get probability 0
    assert fitted.aspect_classes_ == [[0, 1, 2, 3], [0, 3], [0]]
    assert (probs[:, 1, [1, 2]] == 0).all()
    # Screen has one class in training: that class with probability 1, no classifier
    assert fitted.classifiers_[2] is None
    assert (probs[:, 2, 0] == 1).all()
    assert fitted.label_space.aspects == ASPECTS and fitted.label_space.num_classes == 4


def test_matches_a_plain_scikit_learn_pipeline() -> None:
    """Independent reference: FeatureUnion of the two vectorizers, one LR per aspect."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    texts, labels = _data()
    model = TfidfAspectModel().fit(texts, labels, None, ASPECTS)
    queries = ["pin tốt nhưng camera kém", "Camera ĐẸP", "shop giao nhanh"]
    ours = model.predict_proba(queries)
    union = FeatureUnion(
        [
            ("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
            (
                "c",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )
    for a in range(2):  # Screen has a single class: sklearn refuses to fit it
        ref = make_pipeline(union, LogisticRegression(C=8.0, max_iter=1000)).fit(
            texts, labels[:, a]
        )
        expected = ref.predict_proba(queries)
        # coefficients are kept at float32 precision, hence the tolerance
        np.testing.assert_allclose(ours[:, a, ref.classes_], expected, atol=1e-5)


def test_masked_cells_are_left_out() -> None:
    texts, labels = _data()
    mask = np.ones_like(labels, dtype=bool)
    mask[:6, 0] = False
    garbage = labels.copy()
    garbage[:6, 0] = 2  # would change the fit if it were used
    a = TfidfAspectModel().fit(texts, labels, mask, ASPECTS)
    b = TfidfAspectModel().fit(texts, garbage, mask, ASPECTS)
    np.testing.assert_array_equal(a.classifiers_[0].coef_, b.classifiers_[0].coef_)
    c = TfidfAspectModel().fit(texts, garbage, None, ASPECTS)
    assert not np.allclose(a.classifiers_[0].coef_, c.classifiers_[0].coef_)


def test_aspect_with_every_cell_masked_predicts_none() -> None:
    texts, labels = _data()
    mask = np.ones_like(labels, dtype=bool)
    mask[:, 1] = False
    model = TfidfAspectModel().fit(texts, labels, mask, ASPECTS)
    assert model.aspect_classes_[1] == [0]
    assert (model.predict_proba(["camera đẹp"])[:, 1, 0] == 1).all()


def test_save_load_round_trip(fitted: TfidfAspectModel, tmp_path: Path) -> None:
    out = fitted.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in out.iterdir()) == [
        "acsa_model.json",
        "model.safetensors",
        "tfidf_features.json",
    ]
    meta = json.loads((out / "acsa_model.json").read_text(encoding="utf-8"))
    assert meta["format"] == "acsa-model"
    assert meta["model_config"]["encoder"] == "tfidf" and meta["model_config"]["C"] == 8.0
    assert meta["aspects"] == list(ASPECTS)
    assert meta["label_space"]["classes"] == ["none", "negative", "neutral", "positive"]
    # nothing pickled: every file is JSON or safetensors
    for path in out.iterdir():
        assert not path.read_bytes().startswith(b"\x80")

    loaded = TfidfAspectModel.from_pretrained(out)
    queries = ["pin tốt", "pin kém lắm", "camera chụp đẹp", "không liên quan", "Pin Bình Thường"]
    np.testing.assert_allclose(
        loaded.predict_proba(queries), fitted.predict_proba(queries), rtol=0, atol=1e-6
    )
    assert loaded.num_features == fitted.num_features
    assert loaded.aspects == fitted.aspects


def test_word_only_model_round_trips(tmp_path: Path) -> None:
    texts, labels = _data()
    config = TfidfModelConfig(char_ngram_max=0, min_df=1, word_ngram_max=1, C=1.0)
    model = TfidfAspectModel.from_config(config).fit(texts, labels, None, ASPECTS)
    assert list(model.vectorizers_) == ["word"]
    loaded = TfidfAspectModel.from_pretrained(model.save_pretrained(tmp_path))
    assert loaded.config == config
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)


def test_nfc_and_case_do_not_split_the_vocabulary() -> None:
    texts, labels = _data()
    model = TfidfAspectModel().fit(texts, labels, None, ASPECTS)
    composed = "pin tốt"
    decomposed = "PIN TO\u0302\u0301T"  # same syllables, combining marks, upper case
    np.testing.assert_allclose(
        model.predict_proba([decomposed]), model.predict_proba([composed]), atol=1e-12
    )


@pytest.mark.parametrize(
    "values", [{"char_ngram_min": 4, "char_ngram_max": 3}, {"C": 0}, {"min_df": 0}, {"alpha": 1}]
)
def test_invalid_config(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TfidfModelConfig(**values)


def test_bad_fit_input() -> None:
    texts, labels = _data()
    with pytest.raises(ValueError, match="shape"):
        TfidfAspectModel().fit(texts[:-1], labels, None, ASPECTS)
    with pytest.raises(ValueError, match="aspect names"):
        TfidfAspectModel().fit(texts, labels, None, ASPECTS[:2])
    bad = labels.copy()
    bad[0, 0] = 4
    with pytest.raises(ValueError, match="canonical"):
        TfidfAspectModel().fit(texts, bad, None, ASPECTS)
    with pytest.raises(NotFittedError, match="not fitted"):
        TfidfAspectModel().predict(["x"])


# --------------------------------------------------------------------------- damaged files


def _damage_json(name: str, edit: object) -> object:
    def damage(root: Path) -> None:
        path = root / name
        data = json.loads(path.read_text(encoding="utf-8"))
        edit(data)  # type: ignore[operator]
        path.write_text(json.dumps(data), encoding="utf-8")

    return damage


def _truncate(name: str) -> object:
    def damage(root: Path) -> None:
        path = root / name
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])

    return damage


def _wrong_coef(root: Path) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(root / "model.safetensors"))
    tensors["coef.0"] = tensors["coef.0"][:, :-1].copy()
    save_file(tensors, str(root / "model.safetensors"))


def _no_coef(root: Path) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(root / "model.safetensors"))
    del tensors["coef.1"]
    save_file(tensors, str(root / "model.safetensors"))


@pytest.mark.parametrize(
    ("damage", "fragments"),
    [
        (lambda r: (r / "acsa_model.json").unlink(), ["acsa_model.json", "missing"]),
        (lambda r: (r / "tfidf_features.json").unlink(), ["tfidf_features.json", "missing"]),
        (lambda r: (r / "model.safetensors").unlink(), ["model.safetensors", "missing"]),
        (_truncate("acsa_model.json"), ["acsa_model.json", "unreadable"]),
        (_truncate("tfidf_features.json"), ["tfidf_features.json", "unreadable"]),
        (_truncate("model.safetensors"), ["model.safetensors", "corrupt"]),
        (_damage_json("acsa_model.json", lambda d: d.update(format="x")), ["not a TF-IDF"]),
        (
            _damage_json("acsa_model.json", lambda d: d["model_config"].update(encoder="offline")),
            ["acsa_model.json", "not a TF-IDF"],
        ),
        (
            _damage_json("acsa_model.json", lambda d: d["aspect_classes"].pop()),
            ["acsa_model.json", "not a TF-IDF"],
        ),
        (
            _damage_json("tfidf_features.json", lambda d: d["word"]["idf"].pop()),
            ["tfidf_features.json", "damaged", "idf"],
        ),
        (
            _damage_json("tfidf_features.json", lambda d: d.pop("char")),
            ["tfidf_features.json", "damaged"],
        ),
        (_wrong_coef, ["model.safetensors", "aspect number 1", "shape"]),
        (_no_coef, ["model.safetensors", "no coefficients for aspect number 2"]),
    ],
)
def test_damaged_files_raise_one_line_checkpoint_error(
    fitted: TfidfAspectModel, tmp_path: Path, damage: object, fragments: list[str]
) -> None:
    root = fitted.save_pretrained(tmp_path / "m")
    damage(root)  # type: ignore[operator]
    with pytest.raises(CheckpointError) as info:
        TfidfAspectModel.from_pretrained(root)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="model directory not found"):
        TfidfAspectModel.from_pretrained(tmp_path / "nope")


# --------------------------------------------------------------------------- reference scores

SHARED = PROJECT_ROOT.parent / "shared" / "data"


def _shared(name: str) -> Path:
    folder = SHARED / name
    if not (folder / "train.csv").is_file():
        reason = f"shared data not found at {folder}"
        if os.environ.get("ACSA_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + " (ACSA_REQUIRE_SHARED_DATA=1)")
        pytest.skip(reason)
    return folder


def _reference_pair_f1(config_name: str, data_dir: Path) -> tuple[float, float]:
    from acsa.data import load_and_validate
    from acsa.training.baseline import fit_baseline
    from acsa.training.config import load_config

    config = load_config(PROJECT_ROOT / "configs" / config_name, {"data.dir": str(data_dir)})
    splits, _ = load_and_validate(config.data, PROJECT_ROOT)
    metrics = fit_baseline(splits, score=("test",)).metrics["test"]  # argmax: no thresholds
    return metrics["pair_f1"], metrics["aspect_f1"]


def test_reference_score_on_cosmetics() -> None:
    # README of vi-cosmetics-reviews: pair micro-F1 0.708, detection 0.830 (about 6 s here)
    pair_f1, aspect_f1 = _reference_pair_f1("cosmetics.yaml", _shared("vi-cosmetics-reviews"))
    assert pair_f1 == pytest.approx(0.708, abs=0.005)
    assert aspect_f1 == pytest.approx(0.830, abs=0.005)


@pytest.mark.slow
def test_reference_score_on_smartphones() -> None:
    # README of vi-smartphone-reviews: pair micro-F1 0.810, detection 0.848 (about 25 s here)
    pair_f1, aspect_f1 = _reference_pair_f1("quickstart.yaml", _shared("vi-smartphone-reviews"))
    assert pair_f1 == pytest.approx(0.810, abs=0.005)
    assert aspect_f1 == pytest.approx(0.848, abs=0.005)


def test_module_docstring_example_runs() -> None:
    import doctest

    import acsa.models.tfidf

    result = doctest.testmod(acsa.models.tfidf)
    assert result.failed == 0 and result.attempted > 0


def test_logits_give_back_the_probabilities(fitted: TfidfAspectModel) -> None:
    import torch

    queries = ["pin tốt", "camera đẹp"]
    logits = fitted.predict_logits(queries)
    assert logits.shape == (2, 3, 4) and logits.dtype == np.float32
    probs = torch.softmax(torch.from_numpy(logits).double(), -1).numpy()
    np.testing.assert_allclose(probs, fitted.predict_proba(queries), atol=1e-6)


def test_loads_only_a_tfidf_description(fitted: TfidfAspectModel, tmp_path: Path) -> None:
    root = fitted.save_pretrained(tmp_path / "m")
    assert TfidfAspectModel.from_pretrained(root).aspects == fitted.aspects
    (tmp_path / "acsa_model.json").write_text(
        json.dumps({"format": "acsa-model", "model_config": {"encoder": "offline"}}),
        encoding="utf-8",
    )
    with pytest.raises(CheckpointError, match="not a TF-IDF acsa model description"):
        TfidfAspectModel.from_pretrained(tmp_path)


def test_fit_baseline_scores_the_splits_it_is_given() -> None:
    from acsa.data import LabeledReviews
    from acsa.evaluation import compute_metrics
    from acsa.training.baseline import fit_baseline

    texts, labels = _data()

    def reviews(idx: slice) -> LabeledReviews:
        lab = labels[idx]
        return LabeledReviews(
            texts=texts[idx],
            labels=lab,
            mask=np.ones_like(lab, dtype=bool),
            source=Path("x.csv"),
            rows=list(range(len(lab))),
            aspects=ASPECTS,
        )

    splits = {"train": reviews(slice(0, 24)), "test": reviews(slice(24, 36))}
    run = fit_baseline(splits)
    assert set(run.metrics) == {"test"} and run.fit_seconds > 0
    expected = compute_metrics(
        labels[24:], run.model.predict(texts[24:]), ASPECTS, np.ones_like(labels[24:], bool)
    )
    assert run.metrics["test"]["pair_f1"] == expected["pair_f1"]
    summary = run.summary()
    json.dumps(summary)
    assert summary["test"]["pair_f1"] == expected["pair_f1"]
    assert summary["model_config"]["encoder"] == "tfidf"


# --------------------------------------------------------------------------- scikit-learn estimator


def test_get_params_are_the_constructor_arguments_unchanged() -> None:
    model = TfidfAspectModel(min_df=1, C=0.5, char_ngram_max=0)
    params = model.get_params()
    assert params == {**TfidfAspectModel().get_params(), "min_df": 1, "C": 0.5, "char_ngram_max": 0}
    assert set(params) == set(TfidfModelConfig.model_fields) - {"encoder"}
    assert model.set_params(C=2.0) is model and model.C == 2.0
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(alpha=1.0)


def test_from_config_carries_every_option() -> None:
    config = TfidfModelConfig(word_ngram_max=3, min_df=1, C=0.25, lowercase=False)
    assert TfidfAspectModel.from_config(config).config == config
    assert TfidfAspectModel.from_config().config == TfidfModelConfig()


def test_clone_gives_an_unfitted_copy_with_the_same_params(fitted: TfidfAspectModel) -> None:
    from sklearn.base import clone

    copy = clone(fitted)
    assert copy is not fitted and copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "aspects_") and hasattr(fitted, "aspects_")
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.predict_proba(["pin tốt"])
    texts, labels = _data()
    refit = copy.fit(texts, labels, None, ASPECTS)
    np.testing.assert_allclose(refit.predict_proba(texts), fitted.predict_proba(texts), atol=1e-9)


def test_fitted_attributes_are_set_by_fit_only() -> None:
    model = TfidfAspectModel()
    assert not [name for name in vars(model) if name.endswith("_")]
    texts, labels = _data()
    model.fit(texts, labels)  # mask and aspect names are optional
    assert model.aspects == ("aspect1", "aspect2", "aspect3")
    assert {"aspects_", "vectorizers_", "classifiers_", "aspect_classes_"} <= set(vars(model))


def test_hyper_parameters_are_checked_at_fit() -> None:
    texts, labels = _data()
    model = TfidfAspectModel(char_ngram_min=4, char_ngram_max=3)  # stored as given
    assert model.char_ngram_min == 4
    with pytest.raises(ValidationError, match="char_ngram_max"):
        model.fit(texts, labels, None, ASPECTS)


def test_check_estimator_where_it_applies() -> None:
    import warnings

    from sklearn.exceptions import SkipTestWarning
    from sklearn.utils import estimator_checks as checks

    model = TfidfAspectModel()
    # the common checks feed numeric 2-D X; the tags say the input is texts, so they skip
    assert model.__sklearn_tags__().input_tags.string
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checks.check_estimator(model)
    assert any(issubclass(w.category, SkipTestWarning) for w in caught)
    # the API checks that need no data apply, and pass
    for check in (
        checks.check_estimator_cloneable,
        checks.check_estimator_repr,
        checks.check_no_attributes_set_in_init,
        checks.check_do_not_raise_errors_in_init_or_set_params,
        checks.check_parameters_default_constructible,
        checks.check_valid_tag_types,
        checks.check_estimator_tags_renamed,
    ):
        check("TfidfAspectModel", model)
