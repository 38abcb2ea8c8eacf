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


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_library(root / "lib", takes=2)
    coll, enc = open_for_indexing(root / "coll", "mfcc", None)
    index_paths(coll, [root / "lib"], enc, quiet=True)
    coll.close()
    return root


@pytest.fixture(scope="session")
def server(library: Path, chromium_path: Path) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(library / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "soundseek.cli", "serve", "--collection", str(library / "coll"),
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
