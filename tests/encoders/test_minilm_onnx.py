"""The ONNX MiniLM backend gives sentence-transformers' vectors without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from soundseek.encoders.text import MiniLMConfig, MiniLMEncoder
from soundseek.errors import ModelError

TEXTS = ["the sound of glass shattering", "dog", "rain on a tin roof at night, distant thunder", ""]


def test_onnx_and_torch_backends_give_the_same_vectors():
    onnx = MiniLMEncoder(MiniLMConfig(backend="onnx"))
    torch_ = MiniLMEncoder(MiniLMConfig(backend="torch"))
    a, b = onnx.encode_text(TEXTS), torch_.encode_text(TEXTS)
    assert a.shape == b.shape == (4, 384)
    assert np.abs(a - b).max() < 1e-5
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_a_query_process_does_not_import_torch():
    MiniLMEncoder()  # makes sure the export exists
    code = ("import sys; from soundseek.encoders.text import MiniLMEncoder; MiniLMEncoder().encode_text(['dog']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_unknown_backend_is_refused():
    with pytest.raises(ModelError, match="unknown MiniLM backend"):
        MiniLMEncoder(MiniLMConfig(backend="tpu"))
