"""With a YAMNet collection (../shared models): tags, tagged hits, the tag filter and AudioSet describe."""

from __future__ import annotations

import pytest

from soundseek.commands.demo import write_library
from soundseek.indexer import index_paths, open_for_indexing

from .conftest import wav_bytes

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def yamnet_client(tmp_path_factory, yamnet_dir):
    from fastapi.testclient import TestClient

    from soundseek.server.app import create_app

    root = tmp_path_factory.mktemp("yamnet-server")
    write_library(root / "lib", takes=1)
    coll, enc = open_for_indexing(root / "coll", "yamnet", {"model_dir": str(yamnet_dir)})
    index_paths(coll, [root / "lib"], enc, quiet=True)
    coll.close()
    return TestClient(create_app(root / "coll"), raise_server_exceptions=False, base_url="http://127.0.0.1:8765")


def test_tags_and_tagged_hits(yamnet_client):
    tags = yamnet_client.get("/api/tags", params={"limit": 5}).json()
    assert tags and all(t["sounds"] >= 1 for t in tags)
    hits = yamnet_client.get("/api/search", params={"q": "siren", "top": 3}).json()["hits"]
    assert hits and hits[0]["tags"] and "siren" in hits[0]["path"]
    tag = tags[0]["tag"]
    tagged = yamnet_client.get("/api/search", params={"q": "sound", "top": 20, "tag": tag}).json()["hits"]
    assert tagged and all(tag.lower() in [t.lower() for t in _all_tags(yamnet_client, h["sound_id"])] for h in tagged)


def _all_tags(client, sound_id: int) -> list[str]:
    detail = client.get(f"/api/sounds/{sound_id}").json()
    return [t for s in detail["segments"] for t in s["tags"]]


def test_describe_gives_audioset_tags(yamnet_client):
    files = {"file": ("q.wav", wav_bytes("police_siren", 80), "audio/wav")}
    suggestions = yamnet_client.post("/api/describe", files=files, params={"top": 5}).json()["suggestions"]
    assert {s["source"] for s in suggestions} >= {"audioset", "collection"}
