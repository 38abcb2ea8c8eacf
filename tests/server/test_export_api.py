"""Export over HTTP (a segment as WAV, several sounds as a ZIP) and "like this, but ..." on the API."""

from __future__ import annotations

import io
import zipfile

import soundfile as sf

from tests.server.conftest import wav_bytes


def _sound_id(client, name: str) -> int:
    return next(s["sound_id"] for s in client.get("/api/sounds?limit=100").json()["sounds"] if s["name"] == name)


def test_segment_wav(client):
    sid = _sound_id(client, "rain_bell_siren.flac")
    res = client.get(f"/api/sounds/{sid}/segment.wav?start=1&end=3.5")
    assert res.status_code == 200 and res.headers["content-type"] == "audio/wav"
    assert "rain_bell_siren_1.00-3.50.wav" in res.headers["content-disposition"]
    data, sr = sf.read(io.BytesIO(res.content))
    assert sr == 16000 and len(data) == int(2.5 * 16000)


def test_export_zip_of_originals_and_segments(client):
    ids = [_sound_id(client, "rain_take1.wav"), _sound_id(client, "wind_stereo_44k.wav")]
    res = client.post("/api/export", json={"items": [{"sound_id": i} for i in ids]})
    assert res.status_code == 200 and res.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(res.content)) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "rain_take1.wav", "wind_stereo_44k.wav"]
    res = client.post("/api/export", json={"items": [{"sound_id": ids[1], "start": 0.5, "end": 1.5}],
                                           "segments": True, "lufs": -23})
    with zipfile.ZipFile(io.BytesIO(res.content)) as archive:
        data, sr = sf.read(io.BytesIO(archive.read("wind_stereo_44k_0.50-1.50.wav")))
    assert sr == 44100 and data.shape == (44100, 2)


def test_export_errors(client):
    assert client.post("/api/export", json={"items": []}).status_code == 422
    assert client.post("/api/export", json={"items": [{"sound_id": 10**9}]}).status_code == 404
    res = client.post("/api/export", json={"items": [{"sound_id": 1}], "lufs": 3})
    assert res.status_code == 422 and "lufs" in res.json()["detail"]
    assert client.get("/api/sounds/1/segment.wav?start=1000&end=1001").status_code == 422


def test_like_this_but_on_the_api(client):
    files = {"file": ("q.wav", wav_bytes("rain", 42), "audio/wav")}
    plain = client.post("/api/search/audio?top=3", files=files).json()["hits"]
    steered = client.post("/api/search/audio?top=3&toward=clock%20ticking", files=files).json()["hits"]
    assert "clock_ticking" in steered[0]["path"] and steered != plain
    seg = plain[0]["segment_id"]
    near = client.get(f"/api/segments/{seg}/similar?top=5").json()["hits"]
    away = client.get(f"/api/segments/{seg}/similar?top=5&away=rain").json()["hits"]
    assert "/rain/" in near[0]["path"] and "/rain/" not in away[0]["path"]  # pushed down, not cut off
    without = client.get("/api/search?q=siren&top=5&without=police").json()["hits"]
    assert not any("police" in h["path"] for h in without)
    assert client.get("/api/search?q=siren&without=%21%21").status_code == 400
