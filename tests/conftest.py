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


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """A milvus-lite gRPC server on 127.0.0.1 (a subprocess on a free port), the protocol a Milvus cluster
    speaks; ready once a client lists its collections (polled, at most 60 s); killed at teardown.

    Returns: its URI, e.g. http://127.0.0.1:40123.
    """
    import socket
    import subprocess
    import sys
    import time

    pytest.importorskip("pymilvus", reason="the Milvus store needs the 'scale' extra")
    pytest.importorskip("milvus_lite", reason="the Milvus store needs the 'scale' extra")
    from pymilvus import MilvusClient

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path_factory.mktemp("milvus-server")
    log = open(data / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data / "db"),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"milvus-lite server exited ({proc.returncode}): {(data / 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
                client = MilvusClient(uri, timeout=5, dedicated=True)  # closed with it: not left for the store to share
                client.list_collections()
                client.close()
                break
            except Exception:  # not listening yet
                if time.monotonic() > deadline:
                    pytest.fail("milvus-lite server not ready after 60 s")
                try:
                    proc.wait(timeout=0.2)  # returns early only if the server died
                except subprocess.TimeoutExpired:
                    pass
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(params=["embedded", "milvus-file", "milvus-server"])
def store_kind(request) -> str:
    """Which store a store-parametrized test runs on."""
    return request.param


def store_uri(kind: str, folder: Path, request) -> str | None:
    """The `--store` value for a store kind (None: the embedded default)."""
    if kind == "embedded":
        return None
    if kind == "milvus-file":
        pytest.importorskip("pymilvus", reason="the Milvus store needs the 'scale' extra")
        return f"milvus://{folder / 'vectors.db'}"
    return request.getfixturevalue("milvus_server")
