"""Export: originals copied, segments rendered at their own rate and channels, loudness normalized."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from conftest import noise, tone, write_wav

from soundseek.errors import AudioError, QueryError
from soundseek.export import ExportItem, export_to_folder, export_zip, normalize_loudness, read_segment


@pytest.fixture()
def stereo(tmp_path):
    data = np.stack([tone(440, 4.0, sr=44100), noise(4.0, sr=44100)], axis=1)
    path = tmp_path / "lib" / "take.wav"
    path.parent.mkdir()
    sf.write(str(path), data, 44100, subtype="PCM_24")
    return path


def test_originals_are_copied_byte_for_byte_and_never_overwritten(tmp_path, stereo):
    out = tmp_path / "out"
    first = export_to_folder([ExportItem(str(stereo))], out)
    second = export_to_folder([ExportItem(str(stereo))], out)
    assert [e.name for e in first + second] == ["take.wav", "take_2.wav"]
    assert (out / "take.wav").read_bytes() == stereo.read_bytes() == (out / "take_2.wav").read_bytes()


def test_segment_keeps_rate_and_channels(tmp_path, stereo):
    [done] = export_to_folder([ExportItem(str(stereo), 1.0, 2.5)], tmp_path / "out", segments=True)
    assert done.name == "take_1.00-2.50.wav"
    data, sr = sf.read(str(tmp_path / "out" / done.name))
    original, _ = sf.read(str(stereo))
    assert sr == 44100 and data.shape == (int(1.5 * 44100), 2)
    np.testing.assert_allclose(data, original[44100: 44100 + len(data)], atol=1e-6)


def test_loudness_normalized_to_the_target(tmp_path, stereo):
    [done] = export_to_folder([ExportItem(str(stereo), 0.0, 3.0)], tmp_path / "out", segments=True, lufs=-30.0)
    data, sr = sf.read(str(tmp_path / "out" / done.name))
    assert done.note == "" and pyloudnorm.Meter(sr).integrated_loudness(data) == pytest.approx(-30.0, abs=0.2)


def test_loudness_notes_for_short_silent_and_clipping_audio():
    short, note = normalize_loudness(np.full((1000, 1), 0.1, np.float32), 16000, -23)
    assert "shorter than 0.4 s" in note and short[0, 0] == np.float32(0.1)
    _, note = normalize_loudness(np.zeros((16000, 1), np.float32), 16000, -23)
    assert note == "silent: left as is"
    loud, note = normalize_loudness(tone(100, 1.0, amp=0.5)[:, None], 16000, -1.0)
    assert "peak-limited" in note and np.max(np.abs(loud)) == pytest.approx(1.0, abs=1e-6)


def test_zip_has_every_item_and_a_readme(tmp_path, stereo):
    other = write_wav(tmp_path / "lib" / "other" / "take.wav", tone(220, 1.0))
    data = export_zip([ExportItem(str(stereo), 0, 1), ExportItem(str(other), 0, 0.2)], segments=True, lufs=-23)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        readme = archive.read("README.txt").decode()
    assert names == ["take_0.00-1.00.wav", "take_0.00-0.20.wav", "README.txt"]
    assert str(stereo) in readme and "shorter than 0.4 s" in readme


def test_bad_requests_are_clear_errors(tmp_path, stereo):
    with pytest.raises(QueryError, match="nothing to export"):
        export_zip([])
    with pytest.raises(QueryError, match="between -70 and 0 LUFS"):
        export_zip([ExportItem(str(stereo))], lufs=5)
    with pytest.raises(AudioError, match="file not found: .*gone.wav"):
        export_to_folder([ExportItem(str(tmp_path / "gone.wav"))], tmp_path / "out")
    with pytest.raises(AudioError, match="holds no audio"):
        read_segment(stereo, 10.0, 11.0)


def test_cli_exports_the_hits(tmp_path, capsys):
    from soundseek.cli import main

    write_wav(tmp_path / "lib" / "bell" / "bell_a.wav", tone(880, 2.0))
    write_wav(tmp_path / "lib" / "bell" / "bell_b.wav", tone(660, 2.0))
    coll = str(tmp_path / "coll")
    assert main(["index", str(tmp_path / "lib"), "--collection", coll, "--encoder", "mfcc", "--quiet"]) == 0
    args = ["search", "bell", "--collection", coll, "--top", "2", "--export", str(tmp_path / "out")]
    assert main(args + ["--segments", "--lufs", "-20"]) == 0
    assert "exported 2 segments" in capsys.readouterr().err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["bell_a_0.00-2.00.wav", "bell_b_0.00-2.00.wav"]
    data, sr = sf.read(str(tmp_path / "out" / names[0]))
    assert pyloudnorm.Meter(sr).integrated_loudness(data) == pytest.approx(-20.0, abs=0.2)
    assert main(["search", "bell", "--collection", coll, "--lufs", "-20"]) == 2
