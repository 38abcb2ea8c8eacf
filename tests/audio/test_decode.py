from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import tone, write_wav

from soundseek.audio import decode, load_audio, prepare_waveform, probe
from soundseek.errors import AudioError


def test_stereo_44k_int16_becomes_mono_16k(tmp_path):
    stereo = np.stack([tone(440, 2.0, sr=44100), tone(440, 2.0, sr=44100)], axis=1)
    path = tmp_path / "s.wav"
    sf.write(str(path), stereo, 44100, subtype="PCM_16")
    info = probe(path)
    assert (info.sample_rate, info.channels) == (44100, 2)
    assert info.duration == pytest.approx(2.0)
    wave = load_audio(path, sr=16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == pytest.approx(32000, abs=2)
    spectrum = np.abs(np.fft.rfft(wave))
    assert np.argmax(spectrum) * 16000 / len(wave) == pytest.approx(440, abs=2)


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_24"), ("OGG", "VORBIS"), ("AIFF", "PCM_16"), ("WAV", "FLOAT")])
def test_formats_decode(tmp_path, fmt, subtype):
    path = tmp_path / f"t.{fmt.lower()}"
    sf.write(str(path), tone(1000, 1.0, sr=22050), 22050, format=fmt, subtype=subtype)
    wave = load_audio(path, sr=16000)
    assert len(wave) == pytest.approx(16000, abs=400)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(path)


def test_zero_sample_wav_is_refused(tmp_path):
    path = write_wav(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError, match="empty"):
        load_audio(path)


def test_silence_is_refused(tmp_path):
    path = write_wav(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32))
    with pytest.raises(AudioError, match="silent"):
        load_audio(path)


def test_garbage_and_text_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no ffmpeg fallback: libsndfile's verdict only
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    text = tmp_path / "notes.flac"
    text.write_text("this is not audio\n" * 50)
    for path in (garbage, text):
        with pytest.raises(AudioError, match="not a readable audio file"):
            load_audio(path)


def test_truncated_file_is_refused_or_shorter(tmp_path):
    path = write_wav(tmp_path / "full.wav", tone(300, 2.0))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:30])
    with pytest.raises(AudioError):
        load_audio(cut)


def test_too_long_is_refused_not_truncated(tmp_path):
    path = write_wav(tmp_path / "long.wav", tone(300, 3.0))
    with pytest.raises(AudioError, match="too long"):
        load_audio(path, max_duration=2.0)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav")


def test_nan_samples_are_refused():
    with pytest.raises(AudioError, match="NaN"):
        prepare_waveform(np.array([0.1, np.nan], dtype=np.float32), 16000, sr=16000)


def test_decode_file_reads_once_and_returns_the_header(tmp_path, monkeypatch):
    from soundseek.audio import decode, decode_file

    path = write_wav(tmp_path / "a.wav", tone(440.0, 1.0, sr=8000), sr=8000)
    calls = []
    real = decode.sf.info
    monkeypatch.setattr(decode.sf, "info", lambda p: calls.append(p) or real(p))
    wave, info = decode_file(path, sr=16000)
    assert len(calls) == 1 and (info.sample_rate, info.channels) == (8000, 1)
    assert len(wave) == 16000 and info.duration == 1.0


def test_block_pipeline_matches_decoding_at_once_even_for_a_few_samples():
    rate = 44100
    wave = (0.3 * np.sin(np.arange(3 * rate) * 0.05)).astype(np.float32)
    stereo = np.stack([wave, wave], axis=1)
    once = prepare_waveform(stereo, rate, sr=16000)
    streamed = np.concatenate(list(decode._blocks(iter(np.array_split(stereo, 7)), rate, 16000)))
    assert len(streamed) == len(once) == 48000
    np.testing.assert_allclose(streamed, once, atol=1e-4)
    few = list(decode._blocks(iter([stereo[:50]]), rate, 16000))  # less than the resampler's delay
    assert sum(len(b) for b in few) == 18
