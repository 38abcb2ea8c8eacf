"""Moments of long recordings, events inside segments, silence gating, query by example in long files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import noise, tone, write_wav

from soundseek.encoders.base import FrameEvidence
from soundseek.encoders.yamnet import sounding
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.search.engine import SearchEngine
from soundseek.search.moments import Moment, event_span, merge_overlapping, pick_moments


def test_moments_are_the_file_s_best_non_overlapping_segments_above_half_its_best():
    starts = np.array([0.0, 2.5, 5.0, 7.5, 10.0])
    ends = starts + 5.0
    scores = np.array([0.2, 1.0, 0.9, 0.45, 0.6])
    # 1.0 (2.5-7.5) suppresses 0.9 (5-10, overlaps) and 0.2; 0.6 (10-15) is kept; 0.45 < 0.5 x 1.0
    assert pick_moments(np.arange(5), starts, ends, scores) == [1, 4]
    assert pick_moments(np.arange(2), starts[:2], ends[:2], np.array([-np.inf, -np.inf])) == []


def _frames(track: list[float], loud: list[int], cls: int = 7) -> FrameEvidence:
    n = len(track)
    start = np.arange(n) * 0.48
    classes = np.full((n, 2), 99, dtype=np.uint16)
    classes[:, 0] = cls
    scores = np.zeros((n, 2), dtype=np.uint8)
    scores[:, 0] = np.round(np.asarray(track) * 255)
    return FrameEvidence(np.stack([start, start + 0.96], 1).astype(np.float32), classes, scores,
                         np.asarray(loud, dtype=np.uint8))


def test_frame_evidence_of_several_sounds_in_one_read(tmp_path):
    from soundseek.store.records import NewSegment, SoundRecord
    from standins import tiny_collection

    coll = tiny_collection(tmp_path / "c", ["a", "b"])
    segment = NewSegment(0.0, 5.0, np.array([1.0, 0.0], np.float32), np.array([0.5, 0.5], np.float32), [])
    kept = {}
    for i, frames in enumerate([_frames([0.2, 0.9, 0.4], [60, 70, 65]), None, _frames([1.0], [80], cls=3)]):
        sid = coll.put_sound(SoundRecord(0, f"/x/{i}.wav", 1, 1, 5.0, 16000, 1, "WAV", ""), [segment], space="tiny",
                             frames=frames)
        kept[sid] = frames
    ids = list(kept)
    got = coll.frame_evidence_of(ids + [ids[0], 999])  # repeats and unknown ids are harmless
    assert sorted(got) == [ids[0], ids[2]]  # the sound without frame evidence has none
    for sid in (ids[0], ids[2]):
        for name in ("times", "classes", "scores", "loudness"):
            assert np.array_equal(getattr(got[sid], name), getattr(kept[sid], name))
        assert np.array_equal(coll.frame_evidence(sid).scores, kept[sid].scores)
    assert coll.frame_evidence(ids[1]) is None and coll.frame_evidence_of([]) == {}
    assert sorted(coll.frame_evidence_of(list(range(-600, 1200)))) == [ids[0], ids[2]]  # read 500 ids at a time


def test_event_span_follows_the_query_class_and_the_loudness_above_the_bed():
    # The peak 0.9 is frame 4; frames 3 and 6 hold >= half of it; frame 2 holds only 0.05 but its profile
    # (class 7 alone) is the peak's, not the bed's (mostly silent frames); frame 5 holds nothing and is
    # at the bed's median 44 (bridged); frames 7 and 8 hold nothing and are quiet (the run stops):
    # frame 9, 16 dB above the bed, is another sound. Frame 1, 16 dB above the bed, is in the event.
    frames = _frames([0, 0, 0.05, 0.6, 0.9, 0, 0.5, 0, 0, 0, 0], [40, 60, 40, 70, 72, 44, 70, 40, 40, 60, 40])
    lo, hi = event_span(frames, 0.0, 5.0, np.array([7]), np.array([1.0]))
    centres = frames.times.mean(axis=1)
    assert lo == pytest.approx(centres[1] - 0.24) and hi == pytest.approx(centres[6] + 0.24)
    assert event_span(frames, 0.0, 5.0, np.array([3]), np.array([1.0])) is None  # a class it never holds


def test_overlapping_moments_merge_into_the_better_one():
    moments = [Moment(1.0, 3.0, 0.5), Moment(2.0, 4.0, 0.9), Moment(4.0, 6.0, 0.7)]
    assert [(m.start, m.score) for m in merge_overlapping(moments)] == [(2.0, 0.9), (4.0, 0.7)]


def test_silent_frames_do_not_count_unless_all_are_silent():
    level = np.array([-90.0, -20.0, -25.0, -60.0, -95.0])
    assert sounding(np.arange(5), level).tolist() == [1, 2]  # within 30 dB of -20 and above -70 dBFS
    assert sounding(np.array([0, 4]), level).tolist() == [0, 4]  # all silent: all kept


def test_a_long_recording_returns_its_other_moments_and_its_query_span_only_is_excluded(tmp_path):
    sr = 16000
    beep = tone(880.0, 2.0)
    long = noise(60.0, amp=0.01, seed=1)
    for at in (10, 40):  # the same beep twice in one recording
        long[at * sr : at * sr + len(beep)] += beep
    write_wav(tmp_path / "lib" / "field.wav", long)
    for i in range(3):
        write_wav(tmp_path / "lib" / f"hum{i}.wav", tone(110.0 + 20 * i, 4.0) + noise(4.0, amp=0.01, seed=i))
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [tmp_path / "lib"], enc, quiet=True)
    engine = SearchEngine(coll, audio_encoder=enc)
    # the query is the beep at 10 s of the indexed recording: the beep at 40 s of the same file is found
    hits = engine.search_audio(tmp_path / "lib" / "field.wav", start=10.0, end=12.0, top=4)
    assert hits[0].path.endswith("field.wav") and 37.5 <= hits[0].start <= 40.0
    assert all(m.end <= 10.0 or m.start >= 12.0 for m in hits[0].moments)
    assert len(hits) == 4  # deep enough for four distinct files although most segments are the recording's


def test_the_table_lists_a_recording_s_other_moments_under_its_hit():
    from soundseek.commands.output import hits_table
    from soundseek.search.hits import Hit

    hit = Hit("/lib/field.wav", 61.0, 62.5, 2.0, ["Dog"], "", 1, 7, 3600.0,
              moments=[Moment(61.0, 62.5, 2.0), Moment(1810.2, 1811.0, 1.5)])
    short = Hit("/lib/bark.wav", 0.0, 1.0, 1.0, ["Dog"], "", 2, 9, 1.0, moments=[Moment(0.0, 1.0, 1.0)])
    lines = hits_table([hit, short]).splitlines()
    assert len(lines) == 4  # header, the hit, its other moment, the short clip
    assert "1:01.0-1:02.5" in lines[1] and "field.wav" in lines[1]
    assert "30:10.2-30:11.0" in lines[2] and "also" in lines[2] and "field.wav" not in lines[2]
    assert "bark.wav" in lines[3]
