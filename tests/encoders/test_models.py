from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest

from soundseek.encoders import models
from soundseek.errors import ModelError


@pytest.fixture()
def fake_model(tmp_path, monkeypatch):
    """A model 'demo' of two files served over loopback HTTP, pinned by their real checksums."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "a.bin").write_bytes(b"alpha" * 100)
    (served / "b.csv").write_text("index,mid,display_name\n0,/m/x,Thing\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    files = tuple(
        models.ModelFile(name, f"{base}/{name}", hashlib.sha256((served / name).read_bytes()).hexdigest())
        for name in ("a.bin", "b.csv")
    )
    monkeypatch.setitem(models.MODEL_FILES, "demo", files)
    monkeypatch.setenv("SOUNDSEEK_MODELS", str(tmp_path / "models"))
    yield served, files
    server.shutdown()


def test_pull_downloads_and_verifies(fake_model, tmp_path):
    assert not models.is_installed("demo")
    with pytest.raises(ModelError, match="soundseek models pull demo"):
        models.require("demo")
    paths = models.pull("demo")
    assert [p.name for p in paths] == ["a.bin", "b.csv"]
    assert models.require("demo") == tmp_path / "models" / "demo"


def test_pull_refuses_a_wrong_checksum_and_installs_nothing(fake_model, tmp_path):
    served, _ = fake_model
    (served / "a.bin").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="pinned"):
        models.pull("demo")
    assert not (tmp_path / "models" / "demo" / "a.bin").exists()


def test_add_matches_files_by_checksum_not_name(fake_model, tmp_path):
    served, _ = fake_model
    renamed = tmp_path / "whatever.dat"
    renamed.write_bytes((served / "a.bin").read_bytes())
    assert models.add("demo", [renamed])[0].name == "a.bin"
    with pytest.raises(ModelError, match="unknown model"):
        models.add("nope", [renamed])


def test_unreachable_download_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(models.MODEL_FILES, "gone", (models.ModelFile("x", "http://127.0.0.1:9/x", "0" * 64),))
    monkeypatch.setenv("SOUNDSEEK_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match="download of"):
        models.pull("gone")
