"""A real two-node Ray cluster on 127.0.0.1 (a head and a worker node, one CPU each), for one test.

Both nodes run `ray start --block` in sessions of their own, with token authentication (a fresh
token per cluster). Teardown stops exactly those processes: SIGTERM to the two sessions, then
SIGKILL to whatever of them is left (`ray stop` would stop every Ray process of the machine).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

START_TIMEOUT_S = 90.0
STOP_GRACE_S = 5.0  # for both nodes together; then whatever is left of them is killed
SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_cli() -> str:
    path = Path(sys.executable).with_name("ray")
    if not path.exists():
        pytest.fail(f"the `ray` command is missing beside {sys.executable} (pip install 'soundseek[scale]')")
    return str(path)


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_cpus(ray: str, address: str, cpus: int, env: dict, procs: list[subprocess.Popen]) -> None:
    """Poll `ray status` until the cluster reports `cpus` CPUs (or fail with the nodes' logs)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        status = subprocess.run([ray, "status", "--address", address], env=env, capture_output=True, text=True,
                                timeout=60)
        if status.returncode == 0 and f"/{cpus}.0 CPU" in status.stdout:
            return
        time.sleep(0.5)
    pytest.fail(f"the Ray cluster at {address} did not come up with {cpus} CPUs within {START_TIMEOUT_S:.0f} s")


def _stop(procs: list[subprocess.Popen]) -> None:
    sessions = {p.pid for p in procs}
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for pid in _pids_in_sessions(sessions):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait(timeout=10)


def _pids_in_sessions(sessions: set[int]) -> list[int]:
    """Processes whose session id is one of `sessions` (Ray's workers change their process group)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in sessions:  # after "pid (comm)": state ppid pgrp session
            pids.append(int(stat.parent.name))
    return pids


@pytest.fixture
def ray_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Start the cluster; yields its address, "127.0.0.1:PORT"; the test's environment gets its token."""
    ray = _ray_cli()
    port = _free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(tempfile.mkdtemp(prefix="ssray", dir="/tmp"))  # short: Ray's socket paths must stay < 108 bytes
    token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}
    env = os.environ | token | {"PYTHONPATH": str(SRC)}
    common = ["--block", "--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    procs = [_start([ray, "start", "--head", "--port", str(port), "--include-dashboard=false",
                     "--temp-dir", str(temp), *common], env, temp / "head.log")]
    try:  # the worker node waits for the head by itself (it retries the connection): both start at once
        procs.append(_start([ray, "start", "--address", address, *common], env, temp / "worker.log"))
        _wait_for_cpus(ray, address, 2, env, procs)
        for key, value in token.items():
            monkeypatch.setenv(key, value)
        yield address
    finally:
        _stop(procs)
        shutil.rmtree(temp, ignore_errors=True)
