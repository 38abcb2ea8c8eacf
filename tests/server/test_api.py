"""Every endpoint of the API over a small generated collection: shapes, filters, pagination, auth."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from soundseek.search.engine import Filters

from .conftest import wav_bytes

HIT_KEYS = {"path", "start", "end", "score", "tags", "text", "sound_id", "segment_id", "duration", "moments"}


def _kind(hit: dict) -> str:
    return os.path.basename(os.path.dirname(hit["path"]))


def test_health_and_info(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["sounds"] == 30 and health["segments"] > 30
    info = client.get("/api/info").json()
    assert info["audio_encoder"] == "mfcc" and info["sounds"] == 30 and info["auth_required"] is False
    assert info["max_upload_bytes"] == 400_000


def test_text_search_uses_the_cli_hit_schema(client, engine):
    body = client.get("/api/search", params={"q": "siren", "top": 3}).json()
    assert body["kind"] == "text" and body["top"] == 3 and body["offset"] == 0
    assert [set(h) for h in body["hits"]] == [HIT_KEYS | {"relevance"}] * 3  # text hits carry relevance
    assert body["no_good_match"] is False
    assert body["hits"] == [h.to_dict() for h in engine.search_text("siren", top=3)]
    assert _kind(body["hits"][0]) == "police_siren"


def test_text_search_post_matches_get(client):
    got = client.get("/api/search", params={"q": "water", "top": 4}).json()
    posted = client.post("/api/search", json={"query": "water", "top": 4}).json()
    assert posted["hits"] == got["hits"]


def test_filters_match_the_engine(client, engine):
    params = {"q": "wind", "top": 5, "sample_rate": 44100, "channels": 2}
    body = client.get("/api/search", params=params).json()
    assert [os.path.basename(h["path"]) for h in body["hits"]] == ["wind_stereo_44k.wav"]
    body = client.post("/api/search", json={"query": "water", "top": 10, "filters": {"path_glob": "*/rain/*"}}).json()
    assert body["hits"] and all(_kind(h) == "rain" for h in body["hits"])
    short = client.get("/api/search", params={"q": "water", "top": 10, "max_duration": 4.5}).json()["hits"]
    assert all(h["duration"] <= 4.5 for h in short)
    expected = engine.search_text("water", top=10, filters=Filters(max_duration=4.5))
    assert short == [h.to_dict() for h in expected]


def test_pagination_pages_are_consecutive(client):
    whole = client.get("/api/search", params={"q": "sound", "top": 6}).json()
    first = client.get("/api/search", params={"q": "sound", "top": 3}).json()
    second = client.get("/api/search", params={"q": "sound", "top": 3, "offset": first["next_offset"]}).json()
    assert first["next_offset"] == 3
    assert [h["sound_id"] for h in first["hits"] + second["hits"]] == [h["sound_id"] for h in whole["hits"]]
    beyond = client.get("/api/search", params={"q": "sound", "top": 3, "offset": 5000}).json()
    assert beyond["hits"] == [] and beyond["next_offset"] is None


def test_audio_upload_finds_the_same_kind(client):
    files = {"file": ("query.wav", wav_bytes("clock_ticking", 77), "audio/wav")}
    body = client.post("/api/search/audio", files=files, params={"top": 2}).json()
    assert body["kind"] == "audio" and body["query"] == "query.wav"
    assert [_kind(h) for h in body["hits"]] == ["clock_ticking", "clock_ticking"]


def test_audio_upload_with_a_time_range_and_filters(client):
    files = {"file": ("query.wav", wav_bytes("police_siren", 78, seconds=6.0), "audio/wav")}
    body = client.post("/api/search/audio", files=files, data={"start": "1.0", "end": "3.0"},
                       params={"top": 3, "path_glob": "*/police_siren/*"}).json()
    assert body["hits"] and all(_kind(h) == "police_siren" for h in body["hits"])


def test_more_like_this_for_a_segment_and_a_sound(client):
    hit = client.get("/api/search", params={"q": "ticking clock", "top": 1}).json()["hits"][0]
    by_segment = client.get(f"/api/segments/{hit['segment_id']}/similar", params={"top": 3}).json()
    assert by_segment["kind"] == "similar"
    assert hit["sound_id"] not in [h["sound_id"] for h in by_segment["hits"]]
    assert _kind(by_segment["hits"][0]) == _kind(hit)
    by_sound = client.get(f"/api/sounds/{hit['sound_id']}/similar", params={"top": 3}).json()
    assert hit["sound_id"] not in [h["sound_id"] for h in by_sound["hits"]]
    assert _kind(by_sound["hits"][0]) == _kind(hit)


def test_describe_an_upload(client):
    files = {"file": ("q.wav", wav_bytes("police_siren", 79), "audio/wav")}
    body = client.post("/api/describe", files=files, params={"top": 5}).json()
    words = [s["text"] for s in body["suggestions"]]
    assert {"police", "siren"} <= set(words[:4])
    assert all(s["source"] == "collection" for s in body["suggestions"])


def test_sounds_list_and_detail(client):
    first = client.get("/api/sounds", params={"limit": 4}).json()
    assert first["total"] == 30 and len(first["sounds"]) == 4 and first["next_offset"] == 4
    rest = client.get("/api/sounds", params={"limit": 100, "offset": 4}).json()
    paths = [s["path"] for s in first["sounds"] + rest["sounds"]]
    assert paths == sorted(paths) and len(set(paths)) == 30 and rest["next_offset"] is None
    mixed = next(s for s in rest["sounds"] + first["sounds"] if s["name"] == "rain_bell_siren.flac")
    detail = client.get(f"/api/sounds/{mixed['sound_id']}").json()
    assert detail["format"] == "FLAC" and len(detail["segments"]) > 1
    assert detail["audio_url"] == f"/api/sounds/{mixed['sound_id']}/audio"
    starts = [s["start"] for s in detail["segments"]]
    assert starts == sorted(starts)


def test_tags_endpoint(client):
    assert client.get("/api/tags").json() == []  # MFCC collections have no AudioSet tags


def test_openapi_and_page_are_served(client):
    schema = client.get("/openapi.json").json()
    assert "/api/search" in schema["paths"] and "/api/sounds/{sound_id}/audio" in schema["paths"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "soundseek" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/sound/3").text == page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_token_is_required_when_set(token_client):
    assert token_client.get("/api/health").status_code == 200
    assert token_client.get("/").status_code == 200
    refused = token_client.get("/api/info")
    assert refused.status_code == 401 and "token" in refused.json()["detail"]
    assert token_client.get("/api/info", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert token_client.get("/api/search", params={"q": "rain", "token": "nope"}).status_code == 401
    assert token_client.get("/api/info", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert token_client.get("/api/info", headers={"X-API-Token": "s3cret-token"}).status_code == 200
    audio = token_client.get("/api/sounds/1/audio", params={"token": "s3cret-token"})
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


def test_concurrent_requests_are_served(client):
    queries = ["rain", "siren", "bell", "wind", "clock", "water", "thunder", "birds"] * 3

    def ask(q: str) -> int:
        return client.get("/api/search", params={"q": q, "top": 5}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(ask, queries))
    assert statuses == [200] * len(queries)
