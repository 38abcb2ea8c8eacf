"""DNS rebinding (Host header check), HEAD on audio, empty tokens, and a server that follows re-indexing."""

from __future__ import annotations

import pytest
from conftest import tone, write_wav

from soundseek.errors import QueryError
from soundseek.indexer import index_paths, open_for_indexing
from soundseek.server.hosts import allowed_names, host_name

fastapi = pytest.importorskip("fastapi", reason="the 'serve' extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from soundseek.server.app import create_app  # noqa: E402


@pytest.mark.parametrize("header,name", [("localhost:8765", "localhost"), ("[::1]:8765", "::1"), ("::1", "::1"),
                                         ("127.0.0.1", "127.0.0.1"), ("Evil.Example:80", "evil.example")])
def test_host_name_parsing(header, name):
    assert host_name(header) == name


def test_allowed_names_add_the_bound_address_and_extras_but_not_wildcards():
    assert allowed_names("0.0.0.0") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_names("192.168.1.5", ["studio.lan:8765"]) == {"localhost", "127.0.0.1", "::1", "192.168.1.5", "studio.lan"}


def test_a_rebinding_page_gets_421_and_localhost_is_served(client):
    assert client.get("/api/health", headers={"host": "attacker.example"}).status_code == 421
    assert client.get("/api/sounds/1/audio", headers={"host": "attacker.example:8765"}).status_code == 421
    assert client.get("/api/health", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/api/health", headers={"host": "[::1]:8765"}).status_code == 200


def test_allow_host_and_any(library, engine):
    app = create_app(library / "coll", engine=engine, allowed_hosts=allowed_names(None, ["studio.lan"]))
    c = TestClient(app, base_url="http://studio.lan:8765")
    assert c.get("/api/health").status_code == 200
    assert c.get("/api/health", headers={"host": "other.lan"}).status_code == 421
    anyone = TestClient(create_app(library / "coll", engine=engine, allowed_hosts=allowed_names(None, ["*"])),
                        base_url="http://other.lan")
    assert anyone.get("/api/health").status_code == 200


def test_head_on_audio_says_what_get_would_send(client):
    head, get = client.head("/api/sounds/1/audio"), client.get("/api/sounds/1/audio")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


def test_an_empty_token_is_refused(library, engine):
    with pytest.raises(QueryError, match="token is empty"):
        create_app(library / "coll", engine=engine, token="")
    with pytest.raises(QueryError):
        create_app(library / "coll", engine=engine, token="   ")


def test_the_server_follows_a_reindexed_collection(tmp_path):
    lib = tmp_path / "lib"
    for i in range(3):
        write_wav(lib / f"beep_{i}.wav", tone(400.0 + 100 * i, 1.0))
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [lib], enc, quiet=True)
    client = TestClient(create_app(tmp_path / "coll", refresh_seconds=0.0), base_url="http://127.0.0.1")
    first = client.get("/api/search", params={"q": "beep", "top": 10}).json()["hits"]
    assert len(first) == 3
    for i in range(3):  # the library is replaced: old files gone, new ones in
        (lib / f"beep_{i}.wav").unlink()
        write_wav(lib / f"buzz_{i}.wav", tone(900.0 + 100 * i, 1.0))
    write_wav(lib / "buzz_3.wav", tone(1300.0, 1.0))
    index_paths(coll, [lib], enc, quiet=True)
    after = client.get("/api/search", params={"q": "buzz", "top": 10}).json()["hits"]
    assert sorted(h["path"].rsplit("/", 1)[1] for h in after) == [f"buzz_{i}.wav" for i in range(4)]
    assert client.get("/api/sounds").json()["total"] == 4


@pytest.mark.parametrize("first", ["/api/health", "/api/info", "/api/sounds", "/api/sounds/1", "/api/sounds/1/similar"])
def test_any_endpoint_may_be_the_first_after_a_reindex(tmp_path, first):
    """The request that swaps in the new engine uses it (it once used the old, closed connection: 500)."""
    lib = tmp_path / "lib"
    write_wav(lib / "beep_0.wav", tone(400.0, 1.0))
    coll, enc = open_for_indexing(tmp_path / "coll", "mfcc", None)
    index_paths(coll, [lib], enc, quiet=True)
    client = TestClient(create_app(tmp_path / "coll", refresh_seconds=0.0), base_url="http://127.0.0.1",
                        raise_server_exceptions=False)
    write_wav(lib / "buzz_1.wav", tone(900.0, 1.0))
    index_paths(coll, [lib], enc, quiet=True)
    assert client.get(first).status_code == 200
    assert client.get("/api/health").json()["sounds"] == 2
