"""`soundseek watch`: index folders, then follow their file events until stopped.

File events (watchdog) only say *which* paths to look at. A path is acted on once it has been quiet
(no event) for `quiet_seconds` and its size and mtime have not changed meanwhile, so a file still being
written or copied is indexed once, complete. Then, in one batch:
- vanished files whose bytes reappear under a new path (a rename or move, within or between watched
  folders) keep their sound: the path changes, nothing is re-embedded (`indexer.adopt_moves`);
- other vanished files are forgotten;
- new or changed files are decoded, embedded and committed (one transaction each).
Sidecar files (.txt/.json) are not followed; re-run `soundseek index` after editing them.
Each commit bumps the collection generation, which a running `soundseek serve` picks up.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from soundseek.audio import DEFAULT_MAX_DURATION
from soundseek.encoders import AudioEncoder
from soundseek.errors import MissingExtraError, SoundseekError
from soundseek.indexer import IndexReport, adopt_moves, index_found, index_paths
from soundseek.library.scan import FoundFile, audio_extensions, scan
from soundseek.store import Collection
from soundseek.store.ingest import paths_under


@dataclass(frozen=True)
class WatchConfig:
    """`quiet_seconds`: how long a path must be still before it is acted on. `learn_every`: the library
    model is refitted after changes at most this often (seconds; 0 never)."""

    quiet_seconds: float = 2.0
    learn_every: float = 600.0
    max_duration: float = DEFAULT_MAX_DURATION
    metadata: dict[str, str] | None = None


@dataclass
class _Pending:
    """Paths waiting for their quiet period: path -> (last event time, (size, mtime_ns) then)."""

    changed: dict[str, tuple[float, tuple[int, int] | None]] = field(default_factory=dict)
    gone: dict[str, float] = field(default_factory=dict)


class Watcher:
    """Follows `roots` into `coll`. `start()` indexes and starts the observer; `run(stop)` processes
    events until `stop` is set; `process(now)` handles the paths whose quiet period is over."""

    def __init__(self, coll: Collection, encoder: AudioEncoder, roots: list[Path], config: WatchConfig,
                 *, say: Callable[[str], None] = print) -> None:
        self.coll, self.encoder, self.config, self.say = coll, encoder, config, say
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.events: queue.Queue[tuple[str, str, str | None]] = queue.Queue()
        self.pending = _Pending()
        self.exts = audio_extensions()
        self._observer = None
        self._last_learn = 0.0
        self._dirty = False

    # -- life cycle -----------------------------------------------------------------------------
    def start(self, *, quiet: bool = True) -> IndexReport:
        """Index what is there now, then start following events."""
        for root in self.roots:
            if not root.is_dir():
                raise SoundseekError(f"not a folder: {root} (watch takes folders)")
        report = index_paths(self.coll, self.roots, self.encoder, metadata=self.config.metadata,
                             max_duration=self.config.max_duration, quiet=quiet)
        self._observer = _start_observer(self.roots, self.events)
        self._last_learn = time.monotonic()
        return report

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._observer = None

    def run(self, stop: threading.Event) -> None:
        """Handle events until `stop` is set (waits on the event queue, never busy-loops)."""
        try:
            while not stop.is_set():
                self._drain(timeout=self._wait_time())
                report = self.process(time.monotonic())
                if report is not None:
                    self._report(report)
                self._maybe_learn()
        finally:
            self.stop()

    # -- events ---------------------------------------------------------------------------------
    def _wait_time(self) -> float:
        times = [t for t, _ in self.pending.changed.values()] + list(self.pending.gone.values())
        if not times:
            return 1.0
        return max(0.05, min(times) + self.config.quiet_seconds - time.monotonic())

    def _drain(self, *, timeout: float) -> None:
        try:
            item = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self.note(*item)
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return

    def note(self, kind: str, src: str, dest: str | None = None, *, now: float | None = None) -> None:
        """Record one file event ('created', 'modified', 'deleted', 'moved', 'closed'); paths absolute."""
        now = time.monotonic() if now is None else now
        if kind == "moved" and dest is not None:
            self._vanish(src, now)
            self._appear(dest, now)
        elif kind == "deleted":
            self._vanish(src, now)
        else:
            self._appear(src, now)

    def _vanish(self, path: str, now: float) -> None:
        self.pending.changed.pop(path, None)
        for known in [path, *paths_under(self.coll, path)]:
            self.pending.gone[known] = now
        for hot in [p for p in self.pending.changed if p.startswith(path.rstrip("/") + "/")]:
            self.pending.changed.pop(hot)

    def _appear(self, path: str, now: float) -> None:
        if os.path.isdir(path):
            for item in scan([Path(path)]):
                self._appear(str(item.path), now)
            return
        if Path(path).suffix.lower() in self.exts and not Path(path).name.startswith("."):
            self.pending.changed[path] = (now, _signature(path))

    # -- batches --------------------------------------------------------------------------------
    def process(self, now: float) -> IndexReport | None:
        """Act on the paths whose quiet period is over; None when there was nothing to do."""
        quiet = self.config.quiet_seconds
        ready = self._ready_files(now - quiet)
        gone = [p for p, t in self.pending.gone.items() if t <= now - quiet]
        if not ready and not gone:
            return None
        for path in gone:
            self.pending.gone.pop(path)
        with self.coll.writer_lock(wait=True):  # one writer at a time (a `soundseek index` beside us)
            return self._apply(ready, gone)

    def _apply(self, ready: list[FoundFile], gone: list[str]) -> IndexReport:
        report = IndexReport()
        known = self.coll.sound_signatures()
        missing = {p: known[p] for p in gone if p in known and not os.path.exists(p)}
        todo = adopt_moves(self.coll, ready, missing, report, self.config.metadata, known)
        report.removed = self.coll.delete_paths(list(missing))
        for path in missing:
            self.coll.clear_failure(path)
        index_found(self.coll, todo, self.encoder, report, metadata=self.config.metadata,
                    max_duration=self.config.max_duration, quiet=True, known=known)
        self._dirty = self._dirty or bool(report.added or report.updated or report.removed or report.moved)
        return report

    def _ready_files(self, before: float) -> list[FoundFile]:
        ready = []
        for path, (seen, sig) in list(self.pending.changed.items()):
            if seen > before:
                continue
            now_sig = _signature(path)
            if now_sig is None:
                self.pending.changed.pop(path)
            elif now_sig != sig:  # still changing, though quietly: wait another quiet period
                self.pending.changed[path] = (time.monotonic(), now_sig)
            else:
                self.pending.changed.pop(path)
                if self.coll.sound_signatures().get(path) != now_sig:
                    ready.append(FoundFile(Path(path), self._root_of(path), *now_sig))
        return ready

    def _root_of(self, path: str) -> Path:
        inside = [r for r in self.roots if path.startswith(str(r).rstrip("/") + "/")]
        return max(inside, key=lambda r: len(str(r))) if inside else Path(path).parent

    def _report(self, report: IndexReport) -> None:
        self.say(f"added {report.added}, updated {report.updated}, moved {report.moved}, "
                 f"removed {report.removed}, failed {len(report.failed)}")
        for path, reason in report.failed:
            self.say(f"  skipped {path}: {reason}")

    def _maybe_learn(self) -> None:
        every = self.config.learn_every
        if self._dirty and every > 0 and time.monotonic() - self._last_learn >= every:
            from soundseek.search.library import learn_from_library
            self.say(learn_from_library(self.coll))
            self._last_learn = time.monotonic()
            self._dirty = False


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if os.path.isfile(path) else None


def _start_observer(roots: list[Path], events: queue.Queue) -> object:  # type: ignore[type-arg]
    """A watchdog observer feeding (kind, src, dest) tuples into `events`."""
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError as exc:
        raise MissingExtraError("watch", "watchdog") from exc

    class Handler(FileSystemEventHandler):  # type: ignore[misc]
        def on_any_event(self, event) -> None:  # type: ignore[no-untyped-def]
            kind = {"created": "created", "modified": "modified", "deleted": "deleted", "moved": "moved",
                    "closed": "closed"}.get(event.event_type)
            if kind is None or (event.is_directory and kind in ("modified", "closed")):
                return
            dest = getattr(event, "dest_path", None) or None
            events.put((kind, _text(event.src_path), _text(dest) if dest else None))

    observer = Observer()
    for root in roots:
        observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    return observer


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)
