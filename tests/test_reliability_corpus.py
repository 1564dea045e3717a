"""The whole bad-input corpus through the real command line.

Three sources, one contract: ``tests/bad_inputs/data/cases.yaml`` (data
files, run through ``acsa validate-data`` and ``acsa train``),
``tests/bad_inputs/config/cases.yaml`` (YAML configs) and
``tests/bad_inputs/cli/cases.yaml`` (output folders, model folders, command
lines). Every case must exit with code 2, print exactly one ``error:`` line
on stderr that names the file and the place, print no traceback, and leave
the output folder as it was.

The functions here are also the engine of ``benchmarks/reliability_report.py``
(docs/RELIABILITY.md), so the table there is what this test checks.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.permissions import lock, unlock
from tests.test_training import ASPECTS, TINY_OFFLINE, synthetic_rows, write_synthetic_data

BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"
DATA_CORPUS = BAD_INPUTS / "data"
CONFIG_CORPUS = BAD_INPUTS / "config"
CLI_CORPUS = BAD_INPUTS / "cli"
MARKER = "PWNED"


@dataclass
class Case:
    """One bad input and the command that meets it."""

    name: str
    kind: str  # data | config | cli
    command: str  # train | validate-data | predict | evaluate
    expect: list[str]
    file: str | None = None  # the input file
    names: str | None = None  # the file the error line must name (default: ``file``)
    data_config: dict[str, Any] = field(default_factory=dict)
    setup: str | None = None
    args: list[str] = field(default_factory=list)
    notice: bool = False
    cpu_only: bool = False  # the case is an error only where no CUDA GPU is visible

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}-{self.command}"


@dataclass
class Outcome:
    """What one run of a case produced, and what was wrong with it."""

    case: Case
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    output_unchanged: bool
    marker_created: bool
    problems: list[str]
    skipped: str | None = None

    @property
    def error_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.startswith("error:")]
        return lines[0] if lines else ""


# ---------------------------------------------------------------------------- cases


def data_cases() -> list[Case]:
    """The data-file corpus, each case once per command."""
    spec = yaml.safe_load((DATA_CORPUS / "cases.yaml").read_text(encoding="utf-8"))
    cases = []
    for entry in spec["cases"]:
        for command in ("validate-data", "train"):
            cases.append(
                Case(
                    name=entry["name"],
                    kind="data",
                    command=command,
                    expect=list(entry["expect"]),
                    file=entry["file"],
                    data_config={**spec["defaults"], **entry.get("config", {})},
                )
            )
    for command in ("validate-data", "train"):
        cases.append(
            Case(
                name="text_of_100000_characters",
                kind="data",
                command=command,
                expect=["row 3, column 'data'", "100000 characters", "data.max_text_chars"],
                file="long_text.csv",
                data_config=dict(spec["defaults"]),
                setup="long_text",
            )
        )
    return cases


def config_cases() -> list[Case]:
    spec = yaml.safe_load((CONFIG_CORPUS / "cases.yaml").read_text(encoding="utf-8"))
    return [
        Case(
            name=entry["name"],
            kind="config",
            command=command,
            expect=list(entry["expect"]),
            file=entry["file"],
            names=entry.get("names"),
            notice=bool(entry.get("notice", False)),
            cpu_only=bool(entry.get("cpu_only", False)),
        )
        for entry in spec["cases"]
        for command in entry.get("commands", ["train", "validate-data"])
    ]


def cli_cases() -> list[Case]:
    spec = yaml.safe_load((CLI_CORPUS / "cases.yaml").read_text(encoding="utf-8"))
    return [
        Case(
            name=entry["name"],
            kind="cli",
            command=entry["args"][0],
            expect=list(entry["expect"]),
            setup=entry.get("setup"),
            args=[str(a) for a in entry["args"]],
        )
        for entry in spec["cases"]
    ]


def all_cases() -> list[Case]:
    return [*data_cases(), *config_cases(), *cli_cases()]


# ---------------------------------------------------------------------------- fixtures


class CodeRunningPickle:
    """Unpickling this runs ``touch <path>``: the payload of a hostile checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return (os.system, (f"touch '{self.path}'",))


def write_code_pickle(target: Path, marker: Path) -> None:
    """A torch-style pickle whose loading (without weights_only) creates ``marker``."""
    import torch

    torch.save({"state": CodeRunningPickle(marker)}, target)


@dataclass
class Workspace:
    """Valid inputs shared by the cases: data, a config, a saved model."""

    root: Path
    data: Path
    config: Path
    model: Path


def build_workspace(root: Path) -> Workspace:
    """Tiny synthetic splits, a valid config for them, and an untrained saved model."""
    import torch

    from acsa.data import LabelSpace
    from acsa.models import build_model

    root.mkdir(parents=True, exist_ok=True)
    data = write_synthetic_data(root / "data", sizes=(40, 15, 15))
    (data / "a_folder.csv").mkdir(exist_ok=True)
    config = root / "valid.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "dir": "data",
                    "train": "train.csv",
                    "validation": "validation.csv",
                    "test": "test.csv",
                    "aspects": ASPECTS,
                },
                "model": TINY_OFFLINE,
                "training": {"epochs": 1, "batch_size": 8, "progress_bar": False},
                "output": {"dir": str(root / "default_run")},
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    torch.manual_seed(0)
    texts = [r["data"] for r in synthetic_rows(50, 1)]
    model, _ = build_model(TINY_OFFLINE, LabelSpace(tuple(ASPECTS)), texts)
    model_dir = model.save_pretrained(root / "model")
    return Workspace(root=root, data=data, config=config, model=Path(model_dir))


def _fake_checkpoint(ws: Workspace, out: Path, step: int = 5) -> Path:
    """A run folder with a checkpoint that looks complete (trainer state, weights)."""
    import json

    folder = out / "checkpoints" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    shutil.copy(ws.model / "model.safetensors", folder / "model.safetensors")
    (folder / "trainer_state.json").write_text(
        json.dumps({"global_step": step, "log_history": []}), encoding="utf-8"
    )
    shutil.copy(ws.config, out / "config.yaml")
    return folder


def _setup(name: str | None, ws: Workspace, case_dir: Path, out: Path, model: Path) -> None:
    """Build the situation a cli case needs (see tests/bad_inputs/cli/cases.yaml)."""
    if name is None:
        return
    weights = model / "model.safetensors"
    if name == "output_not_writable":
        out.mkdir()
        lock(out)  # chmod for a normal user; root ignores that, so chattr +i or a ro mount
    elif name == "output_is_file":
        out.write_text("not a folder\n", encoding="utf-8")
    elif name == "output_foreign":
        out.mkdir()
        (out / "notes.txt").write_text("someone else's files\n", encoding="utf-8")
    elif name == "output_previous_run":
        out.mkdir()
        (out / "run.json").write_text("{}\n", encoding="utf-8")
    elif name == "previous_run_pickled_optimizer":
        folder = _fake_checkpoint(ws, out)
        write_code_pickle(folder / "optimizer.pt", case_dir / MARKER)
    elif name == "model_is_file":
        shutil.rmtree(model)
        model.write_text("not a model\n", encoding="utf-8")
    elif name == "weights_random_bytes":
        weights.write_bytes(os.urandom(4096))
    elif name == "weights_truncated":
        raw = weights.read_bytes()
        weights.write_bytes(raw[: len(raw) // 2])
    elif name == "weights_code_pickle":
        write_code_pickle(weights, case_dir / MARKER)
    elif name == "only_pytorch_model_bin":
        weights.unlink()
        write_code_pickle(model / "pytorch_model.bin", case_dir / MARKER)
    elif name == "weights_missing":
        weights.unlink()
    elif name == "model_json_corrupt":
        (model / "acsa_model.json").write_text('{"format": "acsa-model", ', encoding="utf-8")
    elif name == "long_text":
        pass  # written by _prepare_data_case
    else:
        raise AssertionError(f"unknown setup {name!r}")


def _prepare_data_case(case: Case, ws: Workspace, case_dir: Path) -> Path:
    """A config whose training file is the bad data file."""
    if case.setup == "long_text":
        source_dir = case_dir
        (case_dir / "long_text.csv").write_text(
            'data,Battery,Camera\n"Pin tốt",Positive,\n"' + "a" * 100_000 + '",,Negative\n',
            encoding="utf-8",
        )
    else:
        source_dir = DATA_CORPUS
    config = case_dir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {"dir": str(source_dir), "train": case.file, **case.data_config},
                "model": TINY_OFFLINE,
            },
            sort_keys=False,
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return config


def _prepare_config_case(case: Case, ws: Workspace, case_dir: Path) -> Path:
    """The bad config copied beside a valid data/ folder (paths in it are relative)."""
    assert case.file is not None
    source = CONFIG_CORPUS / case.file
    target = case_dir / case.file
    if source.is_dir():
        target.mkdir()
    elif source.exists():
        shutil.copy(source, target)
    data_link = case_dir / "data"
    if not data_link.exists():
        shutil.copytree(ws.data, data_link)
    return target


def prepare(case: Case, ws: Workspace, case_dir: Path) -> list[str]:
    """Create the case's files; return the command line after ``acsa``."""
    case_dir.mkdir(parents=True, exist_ok=True)
    out = case_dir / "out"
    if case.kind == "data":
        config = _prepare_data_case(case, ws, case_dir)
        args = [case.command, str(config)]
    elif case.kind == "config":
        config = _prepare_config_case(case, ws, case_dir)
        args = [case.command, str(config)]
    else:
        model = case_dir / "model"
        shutil.copytree(ws.model, model)
        _setup(case.setup, ws, case_dir, out, model)
        values = {
            "config": str(ws.config),
            "data": str(ws.data),
            "model": str(model),
            "out": str(out),
            "work": str(case_dir),
        }
        return [arg.format(**values) for arg in case.args]
    if case.command == "train":
        args += ["--output", str(out)]
    return args


# ---------------------------------------------------------------------------- running


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _snapshot(path: Path) -> Any:
    """What is at ``path``: None, a file's bytes, or a folder's relative names and sizes."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_file():
        return ("file", path.read_bytes())
    return (
        "dir",
        sorted(
            (p.relative_to(path).as_posix(), p.stat().st_size if p.is_file() else -1)
            for p in path.rglob("*")
        ),
    )


def _run_in_process(argv: list[str]) -> tuple[int, str, str]:
    from acsa.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:  # noqa: BLE001 - an escaped exception is the finding
            import traceback

            err.write("Traceback (escaped main): " + "".join(traceback.format_exception(exc)))
            code = -1
    return (0 if code is None else int(code)), out.getvalue(), err.getvalue()


def _run_subprocess(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    env = dict(os.environ, PYTHONWARNINGS="default", HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "acsa", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        cwd=cwd,
        env=env,
    )
    return proc.returncode, proc.stdout, proc.stderr


def judge(case: Case, argv: list[str], code: int, stdout: str, stderr: str) -> list[str]:
    """What is wrong with a run of a bad-input case (empty list: it behaved)."""
    problems = []
    if code != 2:
        problems.append(f"exit code {code}, expected 2")
    if "Traceback" in stderr or "Traceback" in stdout:
        problems.append("a traceback was printed")
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    others = [line for line in lines if not line.startswith("error: ")]
    if len(errors) != 1:
        problems.append(f"{len(errors)} 'error:' lines on stderr, expected 1")
    elif lines[-1] != errors[0]:
        problems.append("the error line is not the last line on stderr")
    allowed_other = [line for line in others if case.notice and line.startswith("WARNING: ")]
    if len(others) != len(allowed_other):
        problems.append(f"{len(others) - len(allowed_other)} other line(s) on stderr: {others!r}")
    line = errors[0] if errors else ""
    named = case.names or (Path(case.file).name if case.file else None)
    if named is not None and named not in line:
        problems.append(f"the error line does not name {named}")
    for fragment in case.expect:
        if fragment not in line:
            problems.append(f"{fragment!r} not in the error line")
    return problems


def run_case(
    case: Case, ws: Workspace, case_dir: Path, *, subprocess_mode: bool = False
) -> Outcome:
    """Prepare, run and judge one case."""
    if case.cpu_only and _has_cuda():
        return Outcome(case, [], 0, "", "", True, False, [], skipped="a CUDA GPU is visible")
    argv = prepare(case, ws, case_dir)
    out = case_dir / "out"
    before = _snapshot(out)
    try:
        if subprocess_mode:
            code, stdout, stderr = _run_subprocess(argv, case_dir)
        else:
            code, stdout, stderr = _run_in_process(argv)
    finally:
        if case.setup == "output_not_writable":
            unlock(out)  # so the temporary folder can be removed
    after = _snapshot(out)
    marker = (case_dir / MARKER).exists()
    problems = judge(case, argv, code, stdout, stderr)
    if before != after:
        problems.append("the output folder changed")
    if marker:
        problems.append("a pickled payload ran (marker file created)")
    return Outcome(case, argv, code, stdout, stderr, before == after, marker, problems)


@contextlib.contextmanager
def quiet_logging() -> Iterator[None]:
    """Keep acsa's logging handlers from pointing at a closed StringIO between cases."""
    import logging

    logger = logging.getLogger("acsa")
    saved = list(logger.handlers)
    try:
        yield
    finally:
        logger.handlers[:] = saved


# ---------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("reliability"))


def test_corpus_size() -> None:
    files = {c.name for c in data_cases()} | {c.name for c in config_cases()}
    assert len(files) >= 30, "the issue asks for at least 30 data + config cases"
    assert len(all_cases()) >= 100


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_bad_input_exits_2_with_one_line(case: Case, workspace: Workspace, tmp_path: Path) -> None:
    if case.cpu_only and _has_cuda():
        pytest.skip("fp16 is valid where a CUDA GPU is visible")
    with quiet_logging():
        outcome = run_case(case, workspace, tmp_path / "case")
    assert not outcome.problems, f"{outcome.problems}\nargv={outcome.argv}\nstderr={outcome.stderr}"


# A handful through a real process: the console entry point, warnings and all.
SUBPROCESS_CASES = (
    "config-key_typo_ghm_momentun-train",
    "data-unknown_label-validate-data",
    "cli-predict_weights_replaced_by_code_pickle-predict",
)


def test_selected_cases_in_a_real_process(workspace: Workspace, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    chosen = [c for c in all_cases() if c.id in SUBPROCESS_CASES]
    assert len(chosen) == len(SUBPROCESS_CASES)
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        outcomes = list(
            pool.map(
                lambda c: run_case(c, workspace, tmp_path / c.id, subprocess_mode=True), chosen
            )
        )
    for outcome in outcomes:
        assert not outcome.problems, (
            f"{outcome.case.id}: {outcome.problems}\nstderr={outcome.stderr}"
        )


def test_code_pickle_payload_is_real(tmp_path: Path) -> None:
    """The planted pickle does run code when loaded unsafely: the refusals above mean something."""
    import torch

    target = tmp_path / "evil.pt"
    write_code_pickle(target, tmp_path / MARKER)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(target, weights_only=True)
    assert not (tmp_path / MARKER).exists()
    torch.load(target, weights_only=False)  # what an unsafe loader would do
    assert (tmp_path / MARKER).exists()
