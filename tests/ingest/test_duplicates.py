"""Duplicates: exact (same decoded audio in another container), near (re-encoded, trimmed, quieter,
resampled), and other takes of the same kind of sound that are not duplicates (generated audio, MFCC)."""

from __future__ import annotations

import numpy as np
import soundfile as sf
import soxr

from soundseek.audio.fingerprint import audio_sha256, band_fingerprint, match_fingerprints
from soundseek.audio.synth import make_sound
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.ingest.duplicates import find_duplicates
from soundseek.store.ingest import duplicates_of, save_duplicate_groups


def _int16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)


def test_match_is_one_for_a_copy_and_survives_trim_gain_and_resampling():
    x = make_sound("footsteps", 1)
    fp = band_fingerprint(x, 16000)
    assert match_fingerprints(fp, fp) > 0.99
    trimmed_quiet = 0.25 * x[8000:-4000]  # 0.5 s off the start, 0.25 s off the end, -12 dB
    assert match_fingerprints(fp, band_fingerprint(trimmed_quiet, 16000)) > 0.9
    at_8k = soxr.resample(soxr.resample(x, 16000, 8000), 8000, 16000)
    assert match_fingerprints(fp, band_fingerprint(at_8k, 16000)) > 0.9
    other_take = band_fingerprint(make_sound("footsteps", 2), 16000)
    assert match_fingerprints(fp, other_take) < 0.5


def test_audio_hash_ignores_the_container_not_the_samples():
    x = _int16(make_sound("rain", 1)).astype(np.float32) / 32767
    assert audio_sha256(x) == audio_sha256(x.copy())
    assert audio_sha256(x) != audio_sha256(x * 0.5)


def test_find_duplicates_groups_copies_and_keeps_other_takes_apart(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    bell, siren = _int16(make_sound("church_bell", 1)), make_sound("police_siren", 1)
    sf.write(lib / "bell.wav", bell, 16000)
    sf.write(lib / "bell_copy.flac", bell, 16000)                                   # exact
    sf.write(lib / "siren.wav", siren, 16000)
    sf.write(lib / "siren_low.ogg", 0.3 * siren[4000:], 16000, subtype="VORBIS")    # near: encoded, trimmed, quieter
    sf.write(lib / "siren_22k.wav", soxr.resample(siren, 16000, 22050), 22050)      # near: resampled
    sf.write(lib / "siren_other_take.wav", make_sound("police_siren", 2), 16000)    # same class, not a duplicate
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None, say=lambda m: None)
    index_paths(coll, [lib], enc, quiet=True)
    names = lambda g: sorted(p.rsplit("/", 1)[-1] for p in g.paths)  # noqa: E731
    exact = find_duplicates(coll)
    assert [(g.kind, names(g)) for g in exact] == [("exact", ["bell.wav", "bell_copy.flac"])]
    both = find_duplicates(coll, near=True)
    assert [(g.kind, names(g)) for g in both] == [
        ("near", ["siren.wav", "siren_22k.wav", "siren_low.ogg"]), ("exact", ["bell.wav", "bell_copy.flac"])]
    save_duplicate_groups(coll, [(g.kind, g.sound_ids) for g in both])
    bell_id = coll.sound_by_path(str(lib / "bell.wav")).id
    copy_id = coll.sound_by_path(str(lib / "bell_copy.flac")).id
    assert duplicates_of(coll, [bell_id, coll.sound_by_path(str(lib / "siren_other_take.wav")).id]) == {
        bell_id: ("exact", [copy_id])}
    sirens = sorted(coll.sound_by_path(str(lib / n)).id for n in ("siren.wav", "siren_22k.wav", "siren_low.ogg"))
    assert duplicates_of(coll, [sirens[1], copy_id, sirens[1]]) == {
        sirens[1]: ("near", [sirens[0], sirens[2]]), copy_id: ("exact", [bell_id])}
