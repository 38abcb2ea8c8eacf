"""Export hits: copy the original files to a folder, or render their segments to WAV (optionally
loudness-normalized to a target LUFS, ITU-R BS.1770 via pyloudnorm); also as one ZIP for the web page.

Segments are read at the file's own sample rate and channel count (libsndfile formats; files only ffmpeg
reads come out mono). Exported names are `<stem>.<ext>` for originals and `<stem>_<start>-<end>.wav`
for segments, with `_2`, `_3`, ... appended when two exports would share a name; nothing is overwritten.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from soundseek.errors import AudioError, QueryError

#: A loudness target must lie in this range (LUFS); -23 is EBU R128 broadcast, -14 streaming.
LUFS_RANGE = (-70.0, 0.0)
#: pyloudnorm's gating block: shorter audio has no integrated loudness.
MIN_LOUDNESS_SECONDS = 0.4
MAX_EXPORT_ITEMS = 500


@dataclass(frozen=True)
class ExportItem:
    """One sound to export: its file, and for a segment its time range (seconds)."""

    path: str
    start: float = 0.0
    end: float | None = None


@dataclass(frozen=True)
class Exported:
    """What one export produced: the name written, and a note (e.g. why it was not normalized)."""

    name: str
    note: str = ""


def check_lufs(lufs: float | None) -> None:
    if lufs is not None and not LUFS_RANGE[0] <= lufs <= LUFS_RANGE[1]:
        raise QueryError(f"loudness target must be between {LUFS_RANGE[0]:g} and {LUFS_RANGE[1]:g} LUFS (got {lufs:g})")


def check_request(items: list[ExportItem], lufs: float | None) -> None:
    if not items:
        raise QueryError("nothing to export: select at least one sound")
    if len(items) > MAX_EXPORT_ITEMS:
        raise QueryError(f"at most {MAX_EXPORT_ITEMS} sounds per export (got {len(items)})")
    check_lufs(lufs)


def read_segment(path: str | Path, start: float = 0.0, end: float | None = None) -> tuple[np.ndarray, int]:
    """Samples of [start, end] at the file's own rate. Returns: (frames, channels) float32, sample rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"file not found: {path}")
    try:
        info = sf.info(str(path))
        first = int(round(max(0.0, start) * info.samplerate))
        last = info.frames if end is None else min(info.frames, int(round(end * info.samplerate)))
        data, sr = sf.read(str(path), start=first, stop=max(first, last), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        from soundseek.audio import load_audio, probe

        sr = probe(path).sample_rate
        wave = load_audio(path, sr=sr)
        data = wave[int(start * sr): None if end is None else int(end * sr)][:, None]
    if not len(data):
        raise AudioError(f"{path.name}: the range {start:.2f}-{end} s holds no audio")
    return np.asarray(data, dtype=np.float32), int(sr)


def normalize_loudness(data: np.ndarray, sr: int, lufs: float) -> tuple[np.ndarray, str]:
    """`data` scaled to integrated loudness `lufs` (peaks above 0 dBFS are limited by scaling back down).
    Returns the audio and a note ('' when normalized as asked)."""
    import pyloudnorm

    if len(data) < MIN_LOUDNESS_SECONDS * sr:
        return data, f"shorter than {MIN_LOUDNESS_SECONDS} s: loudness not measurable, left as is"
    measured = pyloudnorm.Meter(sr).integrated_loudness(data.astype(np.float64))
    if not np.isfinite(measured):
        return data, "silent: left as is"
    out = data * np.float32(10 ** ((lufs - measured) / 20))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        return out / np.float32(peak), f"peak-limited: reached {lufs + 20 * np.log10(1 / peak):.1f} LUFS"
    return out, ""


def _segment_name(item: ExportItem) -> str:
    stem = Path(item.path).stem
    end = "end" if item.end is None else f"{item.end:.2f}"
    return f"{stem}_{item.start:.2f}-{end}.wav"


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix = Path(name).stem, Path(name).suffix
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{stem}_{n}{suffix}"
    taken.add(out)
    return out


def render(item: ExportItem, *, segment: bool, lufs: float | None) -> tuple[str, bytes, str]:
    """One item as (file name, bytes, note): the original file's bytes, or a 24-bit WAV of the segment
    (or of the whole file when only normalization is asked)."""
    if not segment and lufs is None:
        path = Path(item.path)
        if not path.is_file():
            raise AudioError(f"file not found: {path}")
        return path.name, path.read_bytes(), ""
    data, sr = read_segment(item.path, item.start if segment else 0.0, item.end if segment else None)
    note = ""
    if lufs is not None:
        data, note = normalize_loudness(data, sr, lufs)
    buffer = io.BytesIO()
    sf.write(buffer, data, sr, format="WAV", subtype="PCM_24")
    name = _segment_name(item) if segment else f"{Path(item.path).stem}.wav"
    return name, buffer.getvalue(), note


def export_to_folder(items: list[ExportItem], folder: Path, *, segments: bool = False,
                     lufs: float | None = None) -> list[Exported]:
    """Write every item into `folder` (created; existing files are never overwritten)."""
    check_request(items, lufs)
    folder.mkdir(parents=True, exist_ok=True)
    taken = {p.name for p in folder.iterdir()}
    out = []
    for item in items:
        if not segments and lufs is None:  # a plain copy keeps the file's bytes and dates
            if not Path(item.path).is_file():
                raise AudioError(f"file not found: {item.path}")
            name, note = _unique(Path(item.path).name, taken), ""
            shutil.copy2(item.path, folder / name)
        else:
            name, data, note = render(item, segment=segments, lufs=lufs)
            name = _unique(name, taken)
            (folder / name).write_bytes(data)
        out.append(Exported(name, note))
    return out


def export_zip(items: list[ExportItem], *, segments: bool = False, lufs: float | None = None) -> bytes:
    """Every item in one ZIP (stored, not compressed: audio does not shrink), with a README.txt of notes."""
    check_request(items, lufs)
    buffer, taken, notes = io.BytesIO(), set(), []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for item in items:
            name, data, note = render(item, segment=segments, lufs=lufs)
            name = _unique(name, taken)
            archive.writestr(name, data)
            notes.append(f"{name}: {item.path}" + (f" ({note})" if note else ""))
        archive.writestr("README.txt", "Exported by soundseek\n" + "\n".join(notes) + "\n")
    return buffer.getvalue()
