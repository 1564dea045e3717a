"""``--runtime auto|torch|onnx`` of ``acsa predict`` and ``acsa serve``, and its old ``--onnx``."""

from __future__ import annotations

RUNTIME_HELP = (
    "What runs the model: auto (ONNX Runtime when acsa train exported model.onnx and "
    "checked it gives PyTorch's labels, else PyTorch), torch or onnx."
)
# the old flag: hidden from --help, still honoured (silently: an error stays one line)
ONNX_HELP = "Deprecated: --runtime onnx."


def runtime_choice(runtime: str, onnx: bool) -> str:
    """The runtime asked for on the command line (``ConfigError``, one line, if unknown)."""
    from acsa.errors import ConfigError
    from acsa.models.backend import RUNTIME_CHOICES

    value = runtime.strip().lower()
    if value not in RUNTIME_CHOICES:
        raise ConfigError(f"--runtime: expected {', '.join(RUNTIME_CHOICES)}, got {runtime!r}")
    if not onnx:
        return value
    if value == "torch":
        raise ConfigError("--onnx and --runtime torch contradict each other; keep one")
    return "onnx"
