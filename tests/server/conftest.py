"""A small collection of generated sounds (MFCC, no model needed) and test clients over it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundseek.audio.synth import make_sound
from soundseek.commands.demo import write_library
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.search.engine import SearchEngine

fastapi = pytest.importorskip("fastapi", reason="the 'serve' extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from soundseek.server.app import create_app  # noqa: E402

#: Lowered caps so the limit tests stay small.
TEST_MAX_BYTES = 400_000
TEST_MAX_SECONDS = 8.0


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("server")
    write_library(root / "lib", takes=2)
    stereo = np.stack([make_sound("wind", 99)] * 2, axis=1)
    sf.write(str(root / "lib" / "wind" / "wind_stereo_44k.wav"), stereo, 44100)
    long = np.concatenate([make_sound("rain", 5), make_sound("church_bell", 6), make_sound("police_siren", 7)])
    (root / "lib" / "mixed").mkdir()
    sf.write(str(root / "lib" / "mixed" / "rain_bell_siren.flac"), long, 16000)
    return root


@pytest.fixture(scope="session")
def engine(library: Path) -> SearchEngine:
    coll, enc = open_for_indexing(library / "coll", "mfcc", None)
    index_paths(coll, [library / "lib"], enc, quiet=True)
    return SearchEngine(coll, audio_encoder=enc)


@pytest.fixture(scope="session")
def client(library: Path, engine: SearchEngine) -> TestClient:
    app = create_app(library / "coll", engine=engine, max_upload_bytes=TEST_MAX_BYTES,
                     max_upload_seconds=TEST_MAX_SECONDS)
    return TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1:8765")


@pytest.fixture(scope="session")
def token_client(library: Path, engine: SearchEngine) -> TestClient:
    app = create_app(library / "coll", engine=engine, token="s3cret-token")
    return TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1:8765")


def wav_bytes(kind: str, seed: int, *, seconds: float | None = None, sr: int = 16000) -> bytes:
    """A generated sound as WAV bytes (optionally cut or looped to `seconds`)."""
    import io

    data = make_sound(kind, seed)
    if seconds is not None:
        n = int(seconds * sr)
        data = np.resize(data, n)
    buf = io.BytesIO()
    sf.write(buf, data, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()
