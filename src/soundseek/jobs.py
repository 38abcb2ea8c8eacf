"""`soundseek index --jobs N`: decode and embed in N worker processes on this machine.

The main process keeps the collection's writer lock and stays its only writer: it scans, skips
unchanged files, adopts moves and forgets deleted files as a plain run does (`indexer.py`), then hands
the files still to index to the workers one at a time and commits each result, in its own
transaction, through the same function as a plain run (`indexer.commit_encoded`), in scan order (a
result that comes back early waits for those before it; while more than `HELD_BYTES` of results wait,
only the file they wait for is handed out). So the collection, ids included, the per-file failures
and their reasons, and the resume after a kill are those of a plain run.

Workers are started with `spawn` (no copy of the main process's threads or open SQLite handles), each
builds the encoder once (YAMNet's interpreter on the thread count of the collection's config: 1 by
default) and keeps BLAS/OpenMP pools to one thread, decodes and embeds files with
`indexer.encode_found` (long files stream through in blocks, as in a plain run) and sends back the
`EncodedFile`. A worker holds at most `IN_FLIGHT` files, processed in order, so when it dies (a decoder
that segfaults, the kernel's out-of-memory killer) the file it was working on is known: that file is
recorded as failed with the reason, the worker's other files go back to the queue, and a new worker
takes its place. A bug (an exception other than a per-file problem) stops the run as it would in
process. Killing the main process ends the workers: each exits when its pipe to the main process closes.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Callable

from tqdm import tqdm

from soundseek.audio import DEFAULT_MAX_DURATION
from soundseek.encoders import AudioEncoder, build_audio_encoder, encoder_config_dict
from soundseek.errors import QueryError, SoundseekError
from soundseek.indexer import EncodedFile, IndexReport, encode_found, encoder_settings, file_committer
from soundseek.library.scan import FoundFile
from soundseek.store import Collection

#: Files handed to a worker at once: the next one waits in its pipe while it embeds one, so that it
#: never waits for the main process between short files. Every worker gets one before any gets two,
#: and a second file is queued only when both are at most PREFETCH_BYTES (a long recording goes only to
#: a worker with nothing else to do, and nothing waits behind one).
IN_FLIGHT = 2
PREFETCH_BYTES = 16 * 1024 * 1024
#: Results that came back ahead of an earlier file still being embedded (a long recording) are held
#: until it is committed, up to this many bytes of arrays (~13 KB for a 5 s clip, ~40 MB for 4 h).
HELD_BYTES = 64 * 1024 * 1024

#: How a worker turns a found file into an `EncodedFile`: `indexer.encode_found` (tests pass a
#: module-level function that wraps it, e.g. one that crashes its worker on chosen files).
EncodeFn = Callable[..., EncodedFile]

_SIGNAL_HINTS = {
    signal.SIGSEGV: "a crash in a decoder or the model",
    signal.SIGBUS: "a crash in a decoder or the model",
    signal.SIGABRT: "a decoder or the model aborted",
    signal.SIGKILL: "killed from outside: most often the system ran out of memory",
}


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask, as `taskset` or a container limits it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_jobs(jobs: int | None) -> int:
    """`--jobs` as given (None: `available_cores()`); 0 or negative is refused."""
    if jobs is None:
        return available_cores()
    if jobs < 1:
        raise QueryError(f"--jobs wants a number of worker processes, at least 1 (got {jobs})")
    return jobs


@dataclass
class JobsRunStats:
    """What the worker processes of a run did: how many were started, how many died on a file."""

    workers: int = 0
    deaths: int = 0
    #: From starting the workers to the first file back: their start-up (imports, building the encoder).
    first_result_seconds: float = 0.0


@dataclass
class ProcessIndexer:
    """An `indexer.TodoIndexer` that decodes and embeds in `jobs` worker processes:
    `index_paths(..., index_todo=ProcessIndexer(2))`. After the run, `stats` says what happened."""

    jobs: int
    encode: EncodeFn = encode_found
    stats: JobsRunStats = field(default_factory=JobsRunStats)

    def __call__(self, coll: Collection, todo: list[FoundFile], encoder: AudioEncoder, report: IndexReport, *,
                 metadata: dict[str, str] | None = None, max_duration: float = DEFAULT_MAX_DURATION,
                 quiet: bool = False, known: dict | None = None, outside_links: bool = False) -> None:
        self.stats = JobsRunStats()
        if not todo:
            return
        known = coll.sound_signatures() if known is None else known
        commit = file_committer(coll, encoder, report, metadata=metadata, known=known, outside_links=outside_links)
        settings = encoder_settings(encoder.name, encoder_config_dict(encoder), max_duration)
        order = _ScanOrder()
        pool = _Pool(settings, self.encode, self.stats, order.may_send)
        bar = tqdm(total=len(todo), desc=f"indexing in {min(self.jobs, len(todo))} process(es)", unit="file",
                   disable=quiet, file=sys.stderr)
        with bar:
            started, seconds0 = time.perf_counter(), report.audio_seconds
            for seq, back in pool.run(todo, min(self.jobs, len(todo))):
                if not self.stats.first_result_seconds:
                    self.stats.first_result_seconds = time.perf_counter() - started
                for done in order.release(seq, back):
                    commit(done)
                    speed = (report.audio_seconds - seconds0) / max(time.perf_counter() - started, 1e-9)
                    bar.set_postfix_str(f"{speed:.0f} audio s/s", refresh=False)
                    bar.update(1)


class _ScanOrder:
    """Results put back in scan order: `release` gives those now next in line."""

    def __init__(self) -> None:
        self.next, self.held, self.held_bytes = 0, {}, 0

    def release(self, seq: int, done: EncodedFile):  # type: ignore[no-untyped-def]
        self.held[seq] = done
        self.held_bytes += _array_bytes(done)
        while self.next in self.held:
            done = self.held.pop(self.next)
            self.held_bytes -= _array_bytes(done)
            self.next += 1
            yield done

    def may_send(self, seq: int) -> bool:
        """Whether file `seq` may be handed out: always the one the held results wait for."""
        return seq == self.next or self.held_bytes < HELD_BYTES


def _array_bytes(done: EncodedFile) -> int:
    emb = done.embeddings
    if emb is None:
        return 0
    arrays = [emb.vectors, emb.class_scores]
    if emb.frames is not None:
        arrays += [emb.frames.times, emb.frames.classes, emb.frames.scores, emb.frames.loudness]
    return sum(a.nbytes for a in arrays if a is not None)


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    pending: deque[tuple[int, FoundFile]] = field(default_factory=deque)  # (scan position, file), in order
    ready: bool = False  # it said its encoder is built

    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed


class _Pool:
    """Worker processes fed from one queue (files by scan position, the earliest first); yields
    (scan position, `EncodedFile`) as each comes back. `may_send(position)` can hold a file back."""

    def __init__(self, settings: dict, encode: EncodeFn, stats: JobsRunStats, may_send: Callable[[int], bool]) -> None:
        self.settings, self.encode, self.stats, self.may_send = settings, encode, stats, may_send
        self.context = multiprocessing.get_context("spawn")
        self.queue: list[tuple[int, FoundFile]] = []  # a heap

    def run(self, todo: list[FoundFile], workers: int):  # type: ignore[no-untyped-def]
        self.queue = list(enumerate(todo))  # sorted: already a heap
        crew = [self._start() for _ in range(workers)]
        try:
            while self.queue or any(w.pending for w in crew):
                for i, w in enumerate(crew):
                    if self.queue and not w.pending and not w.alive():  # a new worker for a dead one
                        self._stop(w)
                        crew[i] = self._start()
                for depth in range(1, IN_FLIGHT + 1):  # one each first, then a second where it fits
                    for w in crew:
                        self._feed(w, depth)
                busy = [w for w in crew if w.pending]
                if not busy:  # cannot happen (the file results wait for is always sent); never hang on it
                    raise SoundseekError("internal error: indexing workers idle with files left")
                ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
                for w in busy:
                    if w.conn in ready or w.process.sentinel in ready:
                        yield from self._collect(w)
                        if not w.alive():
                            yield from self._bury(w)
        finally:
            for w in crew:
                self._stop(w)

    def _start(self) -> _Worker:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(theirs, self.settings, self.encode),
                                       name="soundseek-index-worker", daemon=True)
        process.start()
        theirs.close()
        self.stats.workers += 1
        return _Worker(process, ours)

    def _feed(self, w: _Worker, depth: int) -> None:
        """Hand the next file to `w` if it holds fewer than `depth` (a second one only when both are short)."""
        if not self.queue or len(w.pending) >= depth or not w.alive() or not self.may_send(self.queue[0][0]):
            return
        if w.pending and max(f.size for _, f in [*w.pending, self.queue[0]]) > PREFETCH_BYTES:
            return
        entry = heapq.heappop(self.queue)
        try:
            w.conn.send(entry[1])
        except OSError:  # it died: _bury will requeue what it held
            heapq.heappush(self.queue, entry)
            return
        w.pending.append(entry)

    def _collect(self, w: _Worker):  # type: ignore[no-untyped-def]
        """Every message the worker has sent so far (also after it died: the pipe keeps them)."""
        while not w.conn.closed:
            try:
                if not w.conn.poll():
                    return
                kind, payload = w.conn.recv()
            except (EOFError, OSError):
                w.conn.close()
                return
            if kind == "error":
                raise SoundseekError(f"an indexing worker failed: {payload}")
            if kind == "ready":
                w.ready = True
                continue
            yield w.pending.popleft()[0], payload

    def _bury(self, w: _Worker):  # type: ignore[no-untyped-def]
        """A dead worker: the file it was on fails with the reason, the others go back to the queue.
        One that died before its encoder was built is a broken installation, not a bad file: that stops
        the run."""
        w.process.join()
        if not w.ready:
            raise SoundseekError(f"an indexing worker process ended before it was ready ({_how_it_ended(w.process.exitcode)}); "
                                 "its messages, if any, are above")
        if not w.pending:
            return
        seq, culprit = w.pending.popleft()
        for entry in w.pending:
            heapq.heappush(self.queue, entry)
        w.pending.clear()
        self.stats.deaths += 1
        yield seq, EncodedFile(culprit, failure=death_reason(w.process.exitcode))

    def _stop(self, w: _Worker) -> None:
        if w.process.is_alive() and not w.conn.closed:
            try:
                w.conn.send(None)
            except OSError:
                pass
        w.conn.close()
        w.process.join(timeout=5)
        if w.process.is_alive():  # still on a file after the run was stopped
            w.process.kill()
            w.process.join()


def death_reason(exitcode: int | None) -> str:
    """Why a file was skipped when the worker decoding it ended (`exitcode`: -N for signal N)."""
    return f"the worker process decoding it died ({_how_it_ended(exitcode)}); the rest of the run went on"


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        sig = signal.Signals(-exitcode)
        return f"{sig.name}: {_SIGNAL_HINTS.get(sig, 'killed by a signal')}"
    return f"exit code {exitcode}"


def _worker_main(conn: Connection, settings: dict, encode: EncodeFn) -> None:
    """A worker's life: build the encoder once, then encode each file sent until None or a closed pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one core per worker: no BLAS/OpenMP threads on top of the others
    max_duration = settings["max_duration"]
    try:
        encoder = build_audio_encoder(settings["encoder"], settings["config"])
    except Exception as exc:  # noqa: BLE001 - said to the main process, which stops the run
        _send(conn, ("error", f"cannot build the '{settings['encoder']}' encoder: {exc}"))
        return
    if not _send(conn, ("ready", None)):
        return
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return  # the main process is gone
        if item is None:
            return
        try:
            done = encode(item, encoder, max_duration=max_duration)
        except Exception:  # noqa: BLE001 - a bug, not a bad file: the main process stops the run
            _send(conn, ("error", f"{item.path}: {traceback.format_exc(limit=8)}"))
            return
        if not _send(conn, ("done", done)):
            return


def _send(conn: Connection, message: tuple) -> bool:
    try:
        conn.send(message)
    except (OSError, EOFError):
        return False
    return True
