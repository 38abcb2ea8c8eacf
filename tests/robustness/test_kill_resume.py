"""`soundseek index` killed with SIGKILL at seeded random points, then resumed: nothing lost, nothing twice.

The child is the real CLI in its own process; it sends itself SIGKILL when it is about to run its N-th
SQL statement (N drawn from a seeded generator among all the statements of a full run), so the kill
lands anywhere: while the database is created, inside a file's transaction, just before a commit,
between files. No timing is involved, so each trial is reproducible.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import noise, tone, write_wav

from soundseek.cli import main as cli_main
from soundseek.store import Collection

CLIPS = 12
TRIALS = 4
SEED = 10
#: The child: counts SQL statements on every connection and kills itself (SIGKILL) at the N-th.
KILL_AT_STATEMENT = """
import os, signal, sqlite3, sys
limit, seen, real = int(sys.argv[1]), [0], sqlite3.connect
def trace(_sql):
    seen[0] += 1
    if seen[0] == limit:
        os.kill(os.getpid(), signal.SIGKILL)
def connect(*args, **kwargs):
    conn = real(*args, **kwargs)
    conn.set_trace_callback(trace)
    return conn
sqlite3.connect = connect
from soundseek.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _library(folder: Path) -> None:
    rng = np.random.default_rng(SEED)
    for i in range(CLIPS):
        seconds = float(rng.uniform(1.0, 4.0))
        write_wav(folder / f"clip_{i:02d}.wav", tone(200.0 + 50 * i, seconds) + noise(seconds, amp=0.02, seed=i))


def _index_args(lib: Path, coll: Path, jobs: int) -> list[str]:
    return ["index", str(lib), "--collection", str(coll), "--encoder", "mfcc", "--quiet", "--no-learn",
            "--jobs", str(jobs)]


def _count_statements(monkeypatch, args: list[str]) -> int:
    """Run the CLI in this process, counting the SQL statements it runs."""
    seen = [0]
    real = sqlite3.connect

    def connect(*a, **k):  # type: ignore[no-untyped-def]
        conn = real(*a, **k)
        conn.set_trace_callback(lambda _sql: seen.__setitem__(0, seen[0] + 1))
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    assert cli_main(args) == 0
    monkeypatch.undo()
    return seen[0]


def _contents(coll: Path) -> dict[str, tuple[int, int]]:
    """path -> (segments, segments with a vector) of every sound, read back through a fresh open."""
    c = Collection.open(coll)
    with_vector = set(c.segment_ids_in_space(c.audio_encoder).tolist())
    out = {}
    for sound in c.sounds(limit=1000):
        segs = c.segment_ids_of_sound(sound.id)
        out[Path(sound.path).name] = (len(segs), sum(s in with_vector for s in segs))
    assert c.counts()["sounds"] == len(out)
    return out


@pytest.mark.parametrize("jobs", [1, 2])
def test_index_killed_at_random_points_resumes_exactly(tmp_path, monkeypatch, jobs):
    """With --jobs the main process (the writer) is killed; its workers end when their pipe closes
    (`subprocess.run` returns only once every process holding the child's stderr has exited)."""
    lib = tmp_path / "lib"
    _library(lib)
    total = _count_statements(monkeypatch, _index_args(lib, tmp_path / "reference", jobs))
    expected = _contents(tmp_path / "reference")
    assert len(expected) == CLIPS and all(n > 0 for n, _ in expected.values())
    rng = random.Random(SEED)
    points = sorted(rng.sample(range(1, total + 1), TRIALS))
    for trial, point in enumerate(points):
        coll = tmp_path / f"coll_{trial}"
        child = subprocess.run([sys.executable, "-c", KILL_AT_STATEMENT, str(point), *_index_args(lib, coll, jobs)],
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == -signal.SIGKILL, (point, total, child.stderr[-500:])
        assert cli_main(_index_args(lib, coll, jobs)) == 0  # resume
        assert _contents(coll) == expected, (trial, point, total)
