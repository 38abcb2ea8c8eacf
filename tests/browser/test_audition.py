"""Auditioning in headless Chromium: the segment stops at its end, loops, or the whole file plays; a click
on the waveform seeks; a time axis; Up/Down/Space; a long recording's moments on the waveform and as a list."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LONG_NAME

pytestmark = pytest.mark.browser

FAST = "document.querySelector('#player').defaultPlaybackRate = 4"  # a 5 s segment plays in 1.25 s
PAUSED = "() => document.querySelector('#player').paused"
PLAYING = "() => { const a = document.querySelector('#player'); return !a.paused && a.currentTime > 0; }"


def _search(page, server: str, query: str) -> None:
    page.goto(server + "/")
    page.evaluate(FAST)
    page.fill("#q", query)
    page.keyboard.press("Enter")
    page.wait_for_selector(".hit canvas[data-ready='1']")


def _long_hit(page):  # type: ignore[no-untyped-def]
    hit = page.locator(".hit", has_text=LONG_NAME)
    assert hit.count() == 1
    return hit


def _current_time(page) -> float:
    return float(page.evaluate("document.querySelector('#player').currentTime"))


def test_play_stops_at_the_end_of_the_segment(page, server, artifacts):
    _search(page, server, "street")
    hit = _long_hit(page)
    start, end = _segment(page)
    assert end - start <= 5.0 + 1e-6 and end < 20  # one segment of a 20 s file
    hit.locator(".play").click()
    page.wait_for_function(PLAYING)
    page.wait_for_function(PAUSED, timeout=20_000)
    assert abs(_current_time(page) - end) < 0.25  # stopped at the segment's end, not the file's
    assert hit.locator(".play").inner_text() == "Play"
    page.screenshot(path=str(artifacts / "browser-audition.png"))


def test_play_starts_at_the_matching_segment(page, server):
    _search(page, server, "street")
    start, end = _segment(page)
    assert start > 1.0  # the segment is not the file's beginning, so starting at 0 would be caught
    page.evaluate("() => { const a = document.querySelector('#player'); window.firstPlayed = null;"
                  " a.addEventListener('playing', () => { if (window.firstPlayed === null) window.firstPlayed = a.currentTime; }); }")
    _long_hit(page).locator(".play").click()
    page.wait_for_function("() => window.firstPlayed !== null")
    first = float(page.evaluate("window.firstPlayed"))
    assert start - 0.05 <= first <= start + 0.3, (first, start)


def _segment(page) -> tuple[float, float]:
    return tuple(page.evaluate("() => { const h = [...document.querySelectorAll('.hit')].find((li) => "
                               f"li.textContent.includes('{LONG_NAME}')).item.seg; return [h.start, h.end]; }}"))


def test_loop_repeats_the_segment(page, server):
    _search(page, server, "street")
    start, end = _segment(page)
    page.check("#loop")
    page.evaluate("(start) => { window.rewinds = 0; const a = document.querySelector('#player');"
                  " a.addEventListener('seeked', () => { if (a.currentTime < start + 0.5) window.rewinds++; }); }", start)
    _long_hit(page).locator(".play").click()
    page.wait_for_function(PLAYING)
    page.wait_for_function("() => window.rewinds >= 2", timeout=20_000)  # the first seek, then back to the start
    assert not page.evaluate("document.querySelector('#player').paused")
    assert start - 0.05 <= _current_time(page) <= end + 0.25


def test_whole_file_plays_past_the_segment(page, server):
    _search(page, server, "street")
    page.check("input[name=mode][value=file]")
    _long_hit(page).locator(".play").click()
    page.wait_for_function("() => document.querySelector('#player').currentTime > 6", timeout=20_000)
    assert not page.evaluate("document.querySelector('#player').paused")


def test_click_on_the_waveform_seeks_and_the_axis_is_drawn(page, server):
    _search(page, server, "street")
    canvas = _long_hit(page).locator("canvas")
    ticks = canvas.get_attribute("data-ticks").split()
    assert ticks[0] in ("0s", "0.0s") and len(ticks) >= 3  # labelled time axis
    start, end = _segment(page)
    at = start + (end - start) / 2  # mid-segment: plays from there to the segment's end
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * at / 20.0, "y": 10})
    page.wait_for_function(PLAYING)
    assert at - 0.2 <= _current_time(page) <= end + 0.25


def test_moments_of_a_long_recording(page, server, artifacts):
    _search(page, server, "street")
    hit = _long_hit(page)
    moments = page.evaluate("() => [...document.querySelectorAll('.hit')].find((li) => "
                            f"li.textContent.includes('{LONG_NAME}')).item.view.moments")
    assert len(moments) >= 2
    buttons = hit.locator(".moments button")
    assert buttons.count() == len(moments)
    assert f"{len(moments)} matching moments" in hit.locator(".info").inner_text()
    buttons.nth(1).click()
    page.wait_for_function(PLAYING)
    assert moments[1]["start"] - 0.05 <= _current_time(page) <= moments[1]["end"]
    hit.screenshot(path=str(artifacts / "browser-moments.png"))


def test_keyboard_audition(page, server):
    _search(page, server, "water")
    page.locator("#results").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    current = page.locator(".hit.current")
    assert current.count() == 1
    assert page.evaluate("[...document.querySelectorAll('#results > li')].indexOf(document.querySelector('.hit.current'))") == 1
    page.keyboard.press(" ")
    page.wait_for_function(PLAYING)
    assert "playing" in current.get_attribute("class")
    page.keyboard.press("ArrowDown")  # while playing, moving on plays the next hit
    page.wait_for_function("() => document.querySelector('.hit.current.playing') !== null"
                           " && [...document.querySelectorAll('#results > li')].indexOf(document.querySelector('.hit.current')) === 2")
    page.keyboard.press(" ")
    page.wait_for_function(PAUSED)
