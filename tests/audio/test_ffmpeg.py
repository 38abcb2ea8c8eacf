"""Files only ffmpeg reads (M4A/AAC, Matroska): header before decoding, streamed decoding, file names
that look like options or URLs, and a clear reason when ffmpeg is missing."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import noise, tone, write_wav

from soundseek.audio import decode, ffmpeg, probe
from soundseek.audio.decode import decode_file, stream_file
from soundseek.errors import AudioError
from soundseek.indexer import index_paths, open_for_indexing

needs_ffmpeg = pytest.mark.skipif(ffmpeg.missing_tool() is not None, reason="ffmpeg/ffprobe not installed "
                                  "(scripts/test.sh installs it when run as root)")


def make(path: Path, seconds: float, *, rate: int = 44100, channels: int = 2, args: tuple[str, ...] = ()) -> Path:
    """A 440 Hz sine encoded by ffmpeg: AAC unless `args` say otherwise, container from the extension."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-ar", str(rate), "-ac", str(channels), *(args or ("-c:a", "aac")), str(path)], check=True)
    return path


def record_processes(monkeypatch) -> list[tuple[str, subprocess.Popen]]:
    """Every process started from now on, as (program name, process)."""
    started: list[tuple[str, subprocess.Popen]] = []
    real = subprocess.Popen

    def popen(cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
        started.append((Path(cmd[0]).name, real(cmd, *args, **kwargs)))
        return started[-1][1]

    monkeypatch.setattr(subprocess, "Popen", popen)
    return started


def declare_duration(mka: Path, milliseconds: float) -> None:
    """Overwrite the Duration (EBML id 0x4489, an 8-byte float in ms) of a Matroska file's header."""
    data = bytearray(mka.read_bytes())
    at = data.find(b"\x44\x89\x88")
    assert at > 0, "no 8-byte Duration element"
    data[at + 3:at + 11] = struct.pack(">d", milliseconds)
    mka.write_bytes(bytes(data))


@needs_ffmpeg
def test_m4a_header_is_read_without_decoding(tmp_path, monkeypatch):
    path = make(tmp_path / "a.m4a", 2.0, rate=48000, channels=2)
    monkeypatch.setattr(ffmpeg, "raw_blocks", lambda *a, **k: pytest.fail("probe decoded samples"))
    info = probe(path)
    assert (info.sample_rate, info.channels, info.format) == (48000, 2, "ffmpeg")
    assert info.duration == pytest.approx(2.0, abs=0.05)


@needs_ffmpeg
def test_m4a_decodes_to_mono_at_the_asked_rate(tmp_path):
    wave, info = decode_file(make(tmp_path / "a.m4a", 2.0), sr=16000)
    assert info.sample_rate == 44100 and wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == pytest.approx(32000, abs=1100)  # AAC pads up to one 1024-sample frame each end
    spectrum = np.abs(np.fft.rfft(wave))
    assert np.argmax(spectrum) * 16000 / len(wave) == pytest.approx(440, abs=2)


@needs_ffmpeg
def test_a_huge_declared_duration_is_refused_before_decoding(tmp_path, monkeypatch):
    path = make(tmp_path / "huge.mka", 2.0)
    declare_duration(path, 1e9)  # 27 KB declaring 11.6 days
    monkeypatch.setattr(ffmpeg, "raw_blocks", lambda *a, **k: pytest.fail("decoded before the header check"))
    with pytest.raises(AudioError, match=r"too long: 1000000 s exceeds the limit of 14400 s"):
        stream_file(path)


@needs_ffmpeg
def test_an_implausible_rate_is_refused_before_decoding(tmp_path, monkeypatch):
    path = make(tmp_path / "pcm.mka", 1.0, rate=8000, channels=1, args=("-c:a", "pcm_s16le"))
    data = bytearray(path.read_bytes())
    at = data.find(b"\xb5\x88")  # Matroska SamplingFrequency: an 8-byte float
    data[at + 2:at + 10] = struct.pack(">d", 1.0)
    path.write_bytes(bytes(data))  # 16 KB declaring 1 Hz: 8,000 samples would become 128 million at 16 kHz
    monkeypatch.setattr(ffmpeg, "raw_blocks", lambda *a, **k: pytest.fail("decoded before the header check"))
    with pytest.raises(AudioError, match=r"implausible sample rate 1 Hz"):
        stream_file(path)


@needs_ffmpeg
def test_without_a_declared_duration_the_decoded_length_is_limited(tmp_path):
    path = tmp_path / "live.mka"  # written to a pipe: Matroska without a Duration
    with open(path, "wb") as out:
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "sine=frequency=440:duration=8",
                        "-c:a", "aac", "-f", "matroska", "pipe:1"], stdout=out, check=True)
    assert np.isnan(probe(path).duration)
    with pytest.raises(AudioError, match=r"too long: more than 3 s of audio"):
        decode_file(path, max_duration=3.0)
    assert len(decode_file(path, max_duration=10.0)[0]) == pytest.approx(8 * 16000, abs=1100)


@needs_ffmpeg
def test_long_file_streams_in_blocks_and_ffmpeg_ends_when_the_reader_stops(tmp_path, monkeypatch):
    path = make(tmp_path / "long.m4a", 40.0, rate=16000, channels=1)
    whole = decode_file(path, sr=16000)[0]
    monkeypatch.setattr(decode, "BLOCK_SECONDS", 4.0)
    started = record_processes(monkeypatch)
    blocks = stream_file(path, sr=16000)[1]
    parts = list(blocks)
    assert len(parts) >= 10 and max(len(p) for p in parts) <= 4 * 16000
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)
    blocks = stream_file(path, sr=16000)[1]
    next(blocks)
    blocks.close()  # the consumer stops early (an encoder error, say): the ffmpeg process is ended
    decoders = [proc for name, proc in started if name == "ffmpeg"]
    assert len(decoders) == 2 and decoders[1].poll() is not None


@needs_ffmpeg
@pytest.mark.parametrize("name", ["-y.m4a", "http:example.m4a", "concat:a.m4a|a.m4a", "pipe:0.m4a", "file:b.m4a"])
def test_names_that_look_like_options_or_urls_are_only_files(tmp_path, name):
    make(tmp_path / "a.m4a", 1.0)
    (tmp_path / name).write_bytes((tmp_path / "a.m4a").read_bytes())
    wave, _ = decode_file(tmp_path / name)
    assert len(wave) == pytest.approx(16000, abs=1100)  # one second: the file itself, not a concatenation
    assert ffmpeg.ffmpeg_url(tmp_path / name) == "file:" + str(tmp_path / name)


@needs_ffmpeg
@pytest.mark.parametrize("content,fmt", [("ffconcat version 1.0\nfile a.m4a\nfile a.m4a\n", "concat"),
                                         ("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\na.aac\n#EXT-X-ENDLIST\n", "hls")])
def test_a_playlist_named_m4a_is_not_followed(tmp_path, content, fmt):
    make(tmp_path / "a.m4a", 1.0)
    make(tmp_path / "a.aac", 1.0)  # ADTS: what an HLS playlist lists
    (tmp_path / "list.m4a").write_text(content)
    with pytest.raises(AudioError, match=rf"not a readable audio file .*'{fmt}' format, which is not an audio"):
        decode_file(tmp_path / "list.m4a")


@needs_ffmpeg
def test_indexing_decodes_an_m4a_once_beside_good_files(tmp_path, monkeypatch):
    write_wav(tmp_path / "lib" / "good.wav", tone(330.0, 1.5) + noise(1.5, amp=0.02))
    make(tmp_path / "lib" / "voice memo.m4a", 2.0)
    started = record_processes(monkeypatch)
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    report = index_paths(coll, [tmp_path / "lib"], enc, quiet=True)
    assert report.failed == [] and report.added == 2
    assert [name for name, _ in started] == ["ffprobe", "ffmpeg"]  # the header, then one decoding
    m4a = next(s for s in coll.sounds() if s.path.endswith(".m4a"))
    assert (m4a.sample_rate, m4a.channels, m4a.format) == (44100, 2, "ffmpeg")


def test_without_ffmpeg_an_m4a_is_a_failure_with_the_reason(tmp_path, monkeypatch):
    write_wav(tmp_path / "lib" / "good.wav", tone(330.0, 1.5) + noise(1.5, amp=0.02))
    (tmp_path / "lib" / "memo.m4a").write_bytes(b"\0\0\0\x20ftypM4A " + bytes(2000))
    monkeypatch.setenv("PATH", "/nonexistent")
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    report = index_paths(coll, [tmp_path / "lib"], enc, quiet=True)
    assert [(Path(p).name, r) for p, r in report.failed] == [
        ("memo.m4a", "a .m4a file needs ffmpeg to decode, and ffmpeg is not installed (e.g. apt-get install ffmpeg)")]
    assert report.added == 1


@needs_ffmpeg
def test_ffmpeg_errors_do_not_show_the_path(tmp_path):
    path = tmp_path / "secret-folder" / "broken.m4a"
    path.parent.mkdir()
    path.write_bytes(b"\0\0\0\x20ftypM4A " + np.random.default_rng(0).bytes(3000))
    with pytest.raises(AudioError) as caught:
        decode_file(path)
    assert "not a readable audio file" in str(caught.value) and "secret-folder" not in str(caught.value)


def test_ffprobe_json_without_an_audio_stream_is_a_clear_error():
    with pytest.raises(AudioError, match="no audio stream"):
        ffmpeg._parse_header(b'{"streams": [], "format": {"duration": "3.0"}}')
    assert ffmpeg._parse_header(b'{"streams": [{"sample_rate": "8000", "channels": 1, "duration": "N/A"}],'
                                b' "format": {"duration": "2.5"}}') == (8000, 1, 2.5)

