"""A real `soundseek serve` on a free loopback port, and Debian's Chromium driven by Playwright.

Skipped with a reason when /usr/bin/chromium or playwright is missing, except in CI (CI=true), where
that is a failure: `.ci/run` must `apt-get install -y chromium`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from soundseek.commands.demo import write_library
from soundseek.indexer import index_paths, open_for_indexing

CHROMIUM = Path(os.environ.get("SOUNDSEEK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
STARTUP_SECONDS = 180.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (the 'test' extra)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen) -> None:
    """Poll the health endpoint until it answers (or the server dies, or STARTUP_SECONDS pass)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"soundseek serve exited with {proc.returncode}")
            try:
                if http.get(f"{url}/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)  # connection refused: the server is still starting; poll again
    raise RuntimeError("soundseek serve did not become healthy in time")


LONG_NAME = "street_ambience_long_take.wav"  # 20 s: several segments, so several matching moments
PHONE_NAME = "a_field_recording_with_a_very_long_name_that_a_recorder_made_up_automatically_0001.wav"


def write_extras(folder: Path) -> None:
    """A 20 s recording (noise bed with bursts) and a sound with a very long unbroken name."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(3)
    wave = 0.05 * rng.standard_normal(20 * 16000)
    for at in (3, 8, 13, 18):
        wave[at * 16000: at * 16000 + 8000] += 0.4 * np.sin(2 * np.pi * 700 * np.arange(8000) / 16000)
    (folder / "street").mkdir(parents=True, exist_ok=True)
    sf.write(str(folder / "street" / LONG_NAME), wave.astype(np.float32), 16000)
    sf.write(str(folder / PHONE_NAME), (0.2 * rng.standard_normal(3 * 16000)).astype(np.float32), 16000)


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_library(root / "lib", takes=2)
    write_extras(root / "lib")
    coll, enc = open_for_indexing(root / "coll", "mfcc", None)
    index_paths(coll, [root / "lib"], enc, quiet=True)
    coll.close()
    return root


@contextmanager
def _serve(collection: Path, log_path: Path) -> Iterator[str]:
    """`soundseek serve` on a free loopback port, until the block ends."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "soundseek.cli", "serve", "--collection", str(collection),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(library: Path, chromium_path: Path) -> Iterator[str]:
    with _serve(library / "coll", library / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def yamnet_server(tmp_path_factory, yamnet_dir: Path, chromium_path: Path) -> Iterator[str]:
    """A server over a small YAMNet collection (tags, frame evidence): one take per kind + the long file."""
    root = tmp_path_factory.mktemp("browser-yamnet")
    write_library(root / "lib", takes=1)
    write_extras(root / "lib")
    coll, enc = open_for_indexing(root / "coll", "yamnet", {"model_dir": str(yamnet_dir)})
    index_paths(coll, [root / "lib"], enc, quiet=True)
    coll.close()
    with _serve(root / "coll", root / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium_path: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
