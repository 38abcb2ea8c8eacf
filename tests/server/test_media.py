"""Audio playback with range requests (only files in the collection) and waveform overviews."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def mixed(client) -> dict:
    sounds = client.get("/api/sounds", params={"limit": 100}).json()["sounds"]
    return next(s for s in sounds if s["name"] == "rain_bell_siren.flac")


def test_whole_file_is_served_with_accept_ranges(client, mixed):
    res = client.get(mixed["audio_url"])
    assert res.status_code == 200
    assert res.headers["accept-ranges"] == "bytes" and res.headers["content-type"] == "audio/flac"
    assert res.content == Path(mixed["path"]).read_bytes()


@pytest.mark.parametrize("header, lo, hi", [("bytes=0-99", 0, 100), ("bytes=1000-1999", 1000, 2000),
                                            ("bytes=-500", None, None), ("bytes=2000-", 2000, None)])
def test_range_requests_return_206_and_the_right_bytes(client, mixed, header, lo, hi):
    data = Path(mixed["path"]).read_bytes()
    res = client.get(mixed["audio_url"], headers={"Range": header})
    assert res.status_code == 206
    want = data[-500:] if lo is None else data[lo:hi]
    assert res.content == want
    first = len(data) - 500 if lo is None else lo
    assert res.headers["content-range"] == f"bytes {first}-{first + len(want) - 1}/{len(data)}"


def test_unsatisfiable_range_is_416(client, mixed):
    size = Path(mixed["path"]).stat().st_size
    res = client.get(mixed["audio_url"], headers={"Range": f"bytes={size + 10}-"})
    assert res.status_code == 416


@pytest.mark.parametrize("url", [
    "/api/sounds/..%2F..%2F..%2Fetc%2Fpasswd/audio",
    "/api/sounds/%2Fetc%2Fpasswd/audio",
    "/api/sounds/../../etc/passwd",
    "/api/sounds/1.5/audio",
    "/api/sounds/-1/audio",
    "/api/sounds/99999/audio",
    "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2F..%2Fserver%2Fapp.py",
])
def test_path_traversal_is_refused(client, url):
    res = client.get(url)
    assert res.status_code in (404, 422)
    assert b"root:" not in res.content and b"create_app" not in res.content


def test_a_path_parameter_is_ignored(client):
    res = client.get("/api/sounds/1/audio", params={"path": "/etc/passwd"})
    assert res.status_code == 200 and res.content[:4] == b"RIFF"


def test_a_vanished_file_is_410(client, library):
    gone = library / "lib" / "thunder" / "thunder_take2.wav"
    sound = next(s for s in client.get("/api/sounds", params={"limit": 100}).json()["sounds"] if s["path"] == str(gone))
    moved = gone.with_suffix(".moved")
    gone.rename(moved)
    try:
        assert client.get(sound["audio_url"]).status_code == 410
        assert client.get(sound["waveform_url"]).status_code == 410
    finally:
        moved.rename(gone)


def test_waveform_peaks_match_the_samples(client, mixed):
    import soundfile as sf

    body = client.get(mixed["waveform_url"], params={"width": 50}).json()
    assert body["width"] == 50 and len(body["peaks"]) == 50
    data, _ = sf.read(mixed["path"], dtype="float32")
    edges = (np.arange(51) * len(data)) // 50
    want = [[data[a:b].min(), data[a:b].max()] for a, b in zip(edges[:-1], edges[1:])]
    assert np.allclose(body["peaks"], want, atol=1e-3)


def test_waveform_png_highlights_a_segment(client, mixed):
    res = client.get(f"/api/sounds/{mixed['sound_id']}/waveform.png",
                     params={"width": 200, "height": 40, "start": 5, "end": 10})
    assert res.status_code == 200 and res.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(res.content)).convert("RGBA")
    assert image.size == (200, 40)
    pixels = np.asarray(image)
    inside, outside = int(200 * 7.5 / mixed["duration"]), 195
    assert pixels[0, inside, 3] > 0 and pixels[0, outside, 3] == 0  # highlight band only over [5, 10] s


@pytest.mark.parametrize("params", [{"width": 3}, {"width": 100000}, {"width": "wide"}, {"height": 0}])
def test_bad_waveform_sizes_are_422(client, mixed, params):
    url = f"/api/sounds/{mixed['sound_id']}/waveform" + (".png" if "height" in params else "")
    assert client.get(url, params=params).status_code == 422
