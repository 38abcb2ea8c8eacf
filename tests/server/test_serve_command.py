"""`soundseek serve`: registered in the CLI, loopback by default, a warning for other addresses."""

from __future__ import annotations

import pytest

from soundseek.cli import build_parser
from soundseek.commands import serve


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                            ("::", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert serve.is_loopback(host) is loopback


def test_defaults_bind_loopback(library):
    args = build_parser().parse_args(["serve", "--collection", str(library / "coll")])
    assert args.host == "127.0.0.1" and args.token is None


@pytest.mark.parametrize("host, token, warned", [("127.0.0.1", None, False), ("0.0.0.0", None, True),
                                                 ("0.0.0.0", "t", True)])
def test_warning_for_other_addresses(monkeypatch, capsys, engine, library, host, token, warned):
    started = {}
    monkeypatch.setattr(serve, "_run", lambda app, h, p, level: started.update(app=app, host=h) or 0)
    monkeypatch.setattr("soundseek.server.state.ServerState.warm", lambda self: None)
    argv = ["serve", "--collection", str(library / "coll"), "--host", host] + (["--token", token] if token else [])
    args = build_parser().parse_args(argv)
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert ("warning" in err) is warned
    assert ("set --token" in err) is (warned and token is None)
    assert started["host"] == host and started["app"].state.soundseek.config.token == token


def test_missing_collection_is_a_clear_error(tmp_path):
    from soundseek.cli import main

    assert main(["serve", "--collection", str(tmp_path / "none")]) == 2
