"""End to end in headless Chromium: search by words, play a hit, upload and record queries, sound page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ALL_WAVES = "() => [...document.querySelectorAll('.hit canvas')].every((c) => c.dataset.ready)"
PLAYING = ("() => { const a = document.querySelector('#player');"
           " return !a.paused && a.currentTime > 0.3; }")


def _search(page, server: str, query: str) -> None:
    page.goto(server + "/")
    page.fill("#q", query)
    page.keyboard.press("Enter")
    page.wait_for_selector(".hit")


def test_type_a_query_see_results_and_play_a_hit(page, server, artifacts):
    _search(page, server, "siren")
    names = page.locator(".hit .name").all_inner_texts()
    assert names[0].startswith("police_siren")
    page.wait_for_selector(".hit canvas[data-ready='1']")
    page.locator(".hit .play").first.click()
    page.wait_for_function(PLAYING)
    assert page.locator(".hit.playing .play").inner_text() == "Pause"
    assert page.locator("#now-playing").inner_text().startswith("police_siren")
    page.wait_for_function(ALL_WAVES)
    page.screenshot(path=str(artifacts / "browser-search.png"), full_page=True)


def test_the_sound_page_plays(page, server):
    page.goto(server + "/sound/1")
    page.wait_for_selector(".hit canvas[data-ready='1']")
    page.locator("#sound-play").click()
    page.wait_for_function(PLAYING)


def test_upload_a_file_as_the_query(page, server, library: Path):
    page.goto(server + "/")
    query = library / "lib" / "clock_ticking" / "clock_ticking_take1.wav"
    page.set_input_files("#upload", str(query))
    page.wait_for_function("() => /clock_ticking_take1\\.wav/.test(document.querySelector('#status').textContent)")
    names = page.locator(".hit .name").all_inner_texts()
    assert names[:2] == ["clock_ticking_take1.wav", "clock_ticking_take2.wav"]  # an uploaded copy finds its original


def test_record_from_the_fake_microphone(page, server, artifacts):
    page.goto(server + "/")
    page.click("#record")
    page.wait_for_function("() => state.recorder && state.recorder.chunks.length >= 6")  # about 1.5 s
    assert page.get_attribute("#record", "aria-pressed") == "true"
    page.click("#record")
    page.wait_for_function("() => /recording\\.wav/.test(document.querySelector('#status').textContent)")
    assert page.locator(".hit").count() > 0
    assert not page.locator("#status.error").count()


def test_more_like_this_and_the_sound_page(page, server, artifacts):
    _search(page, server, "church bell")
    page.locator(".hit .similar").first.click()
    page.wait_for_function("() => /sounds like/.test(document.querySelector('#status').textContent)")
    page.locator(".hit .name").first.click()
    page.wait_for_url(re.compile(r"/sound/\d+$"))
    page.wait_for_selector("#sound-view:not([hidden]) #sound-title")
    page.wait_for_selector(".hit")
    assert "nearest neighbours" in page.locator("#status").inner_text()
    page.wait_for_function(ALL_WAVES)
    page.screenshot(path=str(artifacts / "browser-sound-page.png"), full_page=True)


def test_keyboard_only_search(page, server):
    page.goto(server + "/")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("/")
    page.keyboard.type("rain")
    page.keyboard.press("Enter")
    page.wait_for_selector(".hit")
    page.locator(".hit .play").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(PLAYING)


def test_phone_sized_screen(browser, server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.goto(server + "/")
    pg.fill("#q", "water")
    pg.keyboard.press("Enter")
    pg.wait_for_selector(".hit canvas[data-ready='1']")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    pg.screenshot(path=str(artifacts / "browser-phone.png"))
    context.close()
