"""Shared fixtures: generated audio, the ../shared data (skip outside CI when absent, fail in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder beside the checkout; skipped when absent, an error in CI."""
    path = Path(os.environ.get("SOUNDSEEK_SHARED", SHARED))
    if not (path / "README.md").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the shared data at {path}, and it is missing")
        pytest.skip(f"shared data not found at {path} (only developers and CI have it)")
    return path


@pytest.fixture(scope="session")
def yamnet_dir(shared_dir: Path) -> Path:
    return shared_dir / "models"


def tone(freq: float, seconds: float, *, sr: int = 16000, amp: float = 0.3) -> np.ndarray:
    """A sine tone. Returns: float32 (n,)."""
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chirp(f0: float, f1: float, seconds: float, *, sr: int = 16000, amp: float = 0.3) -> np.ndarray:
    """A linear sweep from f0 to f1 Hz. Returns: float32 (n,)."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds))
    return (amp * np.sin(phase)).astype(np.float32)


def noise(seconds: float, *, sr: int = 16000, amp: float = 0.2, seed: int = 0) -> np.ndarray:
    """Seeded white noise. Returns: float32 (n,)."""
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def write_wav(path: Path, data: np.ndarray, *, sr: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sr)
    return path
