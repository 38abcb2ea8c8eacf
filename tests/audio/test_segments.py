from __future__ import annotations

import numpy as np
import pytest

from soundseek.audio.segments import (
    SEGMENT_HOP,
    SEGMENT_WINDOW,
    Span,
    cut_spans,
    frames_in_span,
)


def test_short_file_is_one_segment():
    assert cut_spans(3.2) == [Span(0.0, 3.2)]
    assert cut_spans(1.5 * SEGMENT_WINDOW) == [Span(0.0, 7.5)]


def test_nothing_for_empty():
    assert cut_spans(0) == []


def test_long_file_windows_cover_everything_and_end_at_the_end():
    spans = cut_spans(23.0)
    assert spans[0] == Span(0.0, SEGMENT_WINDOW)
    assert all(s.duration == pytest.approx(SEGMENT_WINDOW) for s in spans)
    assert spans[-1].end == pytest.approx(23.0)
    starts = [s.start for s in spans[:-1]]
    assert np.allclose(np.diff(starts), SEGMENT_HOP)
    for a, b in zip(spans, spans[1:]):
        assert b.start <= a.end  # no gaps


def test_deterministic():
    assert cut_spans(3600.0) == cut_spans(3600.0)
    assert len(cut_spans(3600.0)) == 1439


def test_frames_in_span_uses_centres_and_never_empty():
    times = np.array([[0.0, 0.96], [0.48, 1.44], [0.96, 1.92]])
    assert list(frames_in_span(times, Span(0.0, 1.0))) == [0, 1]  # centres 0.48, 0.96
    assert list(frames_in_span(times, Span(5.0, 6.0))) == [2]  # nearest frame
