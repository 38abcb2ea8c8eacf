"""A small real web site on 127.0.0.1 for crawler tests: a feed, a page with <audio> tags, robots.txt,
a redirect loop, a 404, a slow endpoint, a huge file, an HTML page named .mp3, a truncated MP3 and a file
whose names try to escape (`../`). Every request is counted per path."""

from __future__ import annotations

import io
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import soundfile as sf

from soundseek.audio.synth import make_sound


def audio_bytes(kind: str, seed: int, fmt: str, *, subtype: str | None = None) -> bytes:
    """A generated sound in `fmt`; lossless formats hold the same 16-bit samples (int16 written as such)."""
    buf = io.BytesIO()
    data = np.round(make_sound(kind, seed) * 32767).astype(np.int16)
    sf.write(buf, data, 16000, format=fmt, subtype=subtype)
    return buf.getvalue()


def _wav_header(seconds: float) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(1600, dtype=np.float32), 16000, format="WAV", subtype="PCM_16")
    head = bytearray(buf.getvalue()[:44])
    n = int(seconds * 16000) * 2
    head[4:8] = (36 + n).to_bytes(4, "little")
    head[40:44] = n.to_bytes(4, "little")
    return bytes(head)


class Site:
    """Routes -> (status, headers, body) plus special behaviours; `hits` counts requests per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()  # the slow endpoint answers once this is set (or after 10 s)
        mp3 = audio_bytes("thunder", 1, "MP3")
        self.files = {
            "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
            "/audio/dog.wav": ("audio/wav", audio_bytes("footsteps", 2, "WAV")),
            "/audio/bell.ogg": ("audio/ogg", audio_bytes("church_bell", 3, "OGG", subtype="VORBIS")),
            "/audio/rain.flac": ("audio/flac", audio_bytes("rain", 4, "FLAC")),
            "/audio/rain-copy.wav": ("audio/wav", audio_bytes("rain", 4, "WAV")),  # same audio as rain.flac
            "/private/secret.wav": ("audio/wav", audio_bytes("bird_chirping", 5, "WAV")),
            "/audio/fake.mp3": ("text/html", b"<!DOCTYPE html><html><body>404 Not Found</body></html>"),
            "/audio/liar.mp3": ("audio/mpeg", b"<html><body>Error: file missing</body></html>"),
            "/audio/..%2F..%2F..%2Fescape.wav": ("audio/wav", audio_bytes("police_siren", 6, "WAV")),
        }
        self.truncated = mp3
        self.slow = audio_bytes("wind", 7, "WAV")
        self.feed = _FEED.encode()
        self.page = _PAGE.encode()

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path
        self.hits[path] += 1
        if path == "/feed.xml":
            return _send(req, 200, {"Content-Type": "application/rss+xml"}, self.feed)
        if path == "/page.html":
            return _send(req, 200, {"Content-Type": "text/html; charset=utf-8"}, self.page)
        if path == "/resume.html":
            return _send(req, 200, {"Content-Type": "text/html"}, _RESUME.encode())
        if path in ("/loop/a.wav", "/loop/b.wav"):
            return _send(req, 302, {"Location": "/loop/b.wav" if path.endswith("a.wav") else "/loop/a.wav"}, b"")
        if path == "/audio/slow.wav":
            self.release.wait(10)
            return _send(req, 200, {"Content-Type": "audio/wav"}, self.slow)
        if path == "/audio/huge.wav":
            return self._huge(req)
        if path == "/audio/truncated.mp3":
            req.send_response(200)
            req.send_header("Content-Type", "audio/mpeg")
            req.send_header("Content-Length", str(len(self.truncated)))
            req.end_headers()
            req.wfile.write(self.truncated[: len(self.truncated) // 2])
            req.close_connection = True
            return None
        if path in self.files:
            ctype, body = self.files[path]
            headers = {"Content-Type": ctype}
            if "escape" in path:
                headers["Content-Disposition"] = 'attachment; filename="../../../../escape.wav"'
            return _send(req, 200, headers, body)
        return _send(req, 404, {"Content-Type": "text/html"}, b"<html>not found</html>")

    def _huge(self, req: BaseHTTPRequestHandler) -> None:
        """Endless audio with no Content-Length: the crawler must stop at its cap."""
        req.send_response(200)
        req.send_header("Content-Type", "audio/wav")
        req.end_headers()
        try:
            req.wfile.write(_wav_header(100.0))
            block = bytes(65536)
            for _ in range(2000):  # 128 MB at most, far over the test cap
                req.wfile.write(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        req.close_connection = True


def _send(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    req.send_response(status)
    for k, v in headers.items():
        req.send_header(k, v)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


def serve(site: Site) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            try:
                site.handle(self)
            except (BrokenPipeError, ConnectionResetError):  # the crawler hung up (a cap, a timeout)
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule">
<channel><title>Field Notes Podcast</title><link>/</link><description>sounds</description>
<creativeCommons:license>http://creativecommons.org/licenses/by/4.0/</creativeCommons:license>
<item><title>Dog barking in the yard</title><description>&lt;p&gt;A &lt;b&gt;terrier&lt;/b&gt; barks twice&lt;/p&gt;</description>
  <pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><link>/episodes/dog</link>
  <enclosure url="/audio/dog.wav" length="1000" type="audio/wav"/></item>
<item><title>A secret cat</title><enclosure url="/private/secret.wav" type="audio/wav"/></item>
<item><title>Fake episode</title><enclosure url="/audio/fake.mp3" type="audio/mpeg"/></item>
<item><title>Lying episode</title><enclosure url="/audio/liar.mp3" type="audio/mpeg"/></item>
<item><title>Very long show</title><itunes:duration>9:00:00</itunes:duration>
  <enclosure url="/audio/long-show.mp3" type="audio/mpeg"/></item>
</channel></rss>
"""

_PAGE = """<!DOCTYPE html><html><head><title>Bells and rain</title>
<link rel="license" href="https://creativecommons.org/publicdomain/zero/1.0/"></head><body>
<audio src="/audio/bell.ogg" title="Church bell at noon"></audio>
<audio controls><source src="/audio/rain.flac"></audio>
<a href="/audio/rain-copy.wav">Rain again (the same file as WAV)</a>
<a href="/audio/huge.wav">An endless drone</a>
<a href="/loop/a.wav">Looping link</a>
<a href="/audio/missing.wav">Gone</a>
<a href="/audio/slow.wav">Slow server</a>
<a href="/audio/truncated.mp3">Broken download</a>
<a href="/audio/..%2F..%2F..%2Fescape.wav">Siren</a>
<a href="/about.html">About</a>
</body></html>
"""

_RESUME = """<html><body><a href="/audio/dog.wav">Footsteps</a> <a href="/audio/bell.ogg">Bell</a>
<a href="/audio/slow.wav">Slow</a></body></html>"""
