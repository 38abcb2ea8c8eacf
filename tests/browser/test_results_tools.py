"""The result list in headless Chromium: sort, word facets, download, drag out, select and export, "like
this, but ...", the query box after an upload, an unknown sound's page, and the phone width."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.browser.conftest import LONG_NAME, PHONE_NAME

pytestmark = pytest.mark.browser

NAMES = "() => [...document.querySelectorAll('#results > li:not([hidden]) .name')].map((a) => a.textContent)"


def _search(page, server: str, query: str) -> None:
    page.goto(server + "/")
    page.fill("#q", query)
    page.keyboard.press("Enter")
    page.wait_for_selector(".hit canvas[data-ready='1']")


def test_sort_by_name_and_duration(page, server):
    _search(page, server, "water")
    relevance_order = page.evaluate(NAMES)
    page.select_option("#sort", "name")
    assert page.evaluate(NAMES) == sorted(relevance_order, key=str.lower)
    page.select_option("#sort", "duration-asc")
    durations = page.evaluate("() => [...document.querySelectorAll('#results > li')].map((li) => li.item.hit.duration)")
    assert durations == sorted(durations)
    page.select_option("#sort", "added")
    ids = page.evaluate("() => [...document.querySelectorAll('#results > li')].map((li) => li.item.hit.sound_id)")
    assert ids == sorted(ids, reverse=True)
    page.select_option("#sort", "relevance")
    assert page.evaluate(NAMES) == relevance_order


def test_word_facet_filters_the_hits(page, server, artifacts):
    _search(page, server, "water")
    facet = page.locator("#facet-words button", has_text="dripping")
    count = int(facet.locator(".count").inner_text())
    facet.click()
    names = page.evaluate(NAMES)
    assert len(names) == count and all("dripping" in n for n in names)
    assert page.locator("#facet-words button.active").count() == 1
    page.screenshot(path=str(artifacts / "browser-facets.png"))
    page.locator("#facet-words button.active").click()
    assert len(page.evaluate(NAMES)) > count


def test_download_and_drag_out(page, server):
    _search(page, server, "street")
    hit = page.locator(".hit", has_text=LONG_NAME)
    href = hit.locator("a.download").get_attribute("href")
    assert hit.locator("a.download").get_attribute("download") == LONG_NAME
    assert httpx.get(server + href).content[:4] == b"RIFF"
    drag = ("(li) => { const dt = new DataTransfer();"
            " li.dispatchEvent(new DragEvent('dragstart', {dataTransfer: dt, bubbles: true}));"
            " return dt.getData('DownloadURL'); }")
    mime, name, url = hit.evaluate(drag).split(":", 2)
    seg = hit.evaluate("(li) => li.item.seg")
    assert mime == "audio/wav" and name.startswith("street_ambience_long_take_") and name.endswith(".wav")
    data, sr = sf.read(io.BytesIO(httpx.get(url).content))
    assert abs(len(data) / sr - (seg["end"] - seg["start"])) < 0.01  # the segment, not the whole file
    page.check("input[name=mode][value=file]")
    assert hit.evaluate(drag).split(":", 2)[1] == LONG_NAME  # whole-file mode drags the original


def test_select_and_export_segments_normalized(page, server, tmp_path: Path):
    import pyloudnorm

    _search(page, server, "street")
    page.locator(".hit .pick").nth(0).check()
    page.locator(".hit .pick").nth(1).check()
    assert page.locator("#export-count").inner_text() == "2 selected"
    page.select_option("#export-what", "segments")
    page.check("#export-normalize")
    page.fill("#export-lufs", "-20")
    with page.expect_download() as info:
        page.click("#export-go")
    path = tmp_path / "export.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        wavs = [n for n in archive.namelist() if n.endswith(".wav")]
        assert len(wavs) == 2 and "README.txt" in archive.namelist()
        data, sr = sf.read(io.BytesIO(archive.read(wavs[0])))
    assert abs(pyloudnorm.Meter(sr).integrated_loudness(data) - (-20)) < 0.5
    assert "Exported 2 sounds" in page.locator("#status").inner_text()


def test_like_this_but_from_an_upload(page, server, library: Path):
    page.goto(server + "/")
    page.fill("#q", "old words")
    page.set_input_files("#upload", str(library / "lib" / "rain" / "rain_take1.wav"))
    page.wait_for_function("() => /rain_take1\\.wav/.test(document.querySelector('#status').textContent)")
    assert page.input_value("#q") == ""  # the old text query does not stay in the box
    plain = page.evaluate(NAMES)
    assert page.is_visible("#toward")
    page.fill("#toward", "clock ticking")
    page.click("#steer button[type=submit]")
    page.wait_for_function("() => /but clock ticking/.test(document.querySelector('#status').textContent)")
    steered = page.evaluate(NAMES)
    assert steered[0].startswith("clock_ticking") and steered != plain


def test_unknown_sound_page(page, server, artifacts):
    page.goto(server + "/sound/999999")
    page.wait_for_function("() => document.querySelector('#status').classList.contains('error')")
    assert page.locator("#sound-title").inner_text() == "Sound not found"
    assert not page.is_visible("#sound-play") and not page.is_visible("#sound-wave")


def test_phone_width_with_a_long_name_and_the_player(browser, server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.goto(server + "/")
    pg.fill("#q", "field recording")
    pg.keyboard.press("Enter")
    pg.wait_for_selector(".hit canvas[data-ready='1']")
    assert PHONE_NAME in pg.evaluate(NAMES)
    pg.locator(".hit .play").first.click()
    pg.locator(".hit .pick").first.check()
    pg.wait_for_selector("#player-bar:not([hidden])")
    width = pg.evaluate("document.documentElement.scrollWidth")
    cut = pg.evaluate("() => [...document.querySelectorAll('.hit, .hit *, #export-bar, .player')]"
                      ".filter((e) => e.getBoundingClientRect().right > 391).length")
    pg.screenshot(path=str(artifacts / "browser-phone-results.png"), full_page=True)
    sound_id = pg.evaluate("document.querySelector('.hit').item.hit.sound_id")
    pg.goto(server + f"/sound/{sound_id}")
    pg.wait_for_selector("#sound-wave[data-ready='1']")
    sound_width = pg.evaluate("document.documentElement.scrollWidth")
    pg.screenshot(path=str(artifacts / "browser-phone-sound.png"), full_page=True)
    context.close()
    assert width <= 390 and sound_width <= 390 and cut == 0


def test_tag_facets_and_tags_over_time(page, yamnet_server, artifacts):
    _search(page, yamnet_server, "bell")
    facet = page.locator("#facet-tags button").first
    tag = facet.evaluate("(b) => b.firstChild.textContent.trim()")
    facet.click()  # a tag facet is a search filter
    page.wait_for_function(f"() => document.querySelector('#f-tag').value === {tag!r}"
                           " && document.querySelector('#facet-tags button.active') !== null")
    page.wait_for_selector(".hit")
    tags = page.evaluate("() => [...document.querySelectorAll('#results > li')].map((li) => li.item.hit.tags)")
    assert tags and all(tag in t for t in tags)
    page.screenshot(path=str(artifacts / "browser-tag-facets.png"))
    page.goto(yamnet_server + "/")
    page.fill("#q", "street ambience")
    page.keyboard.press("Enter")
    page.locator(".hit .name", has_text=LONG_NAME).click()
    page.wait_for_selector("#tag-lane .lane-block")
    blocks = page.locator("#tag-lane .lane-block")
    assert blocks.count() >= 1 and blocks.first.inner_text()
    assert page.evaluate("() => [...document.querySelectorAll('.lane-block')].reduce((s, b) => s + parseFloat(b.style.width), 0)") > 90
    page.screenshot(path=str(artifacts / "browser-tags-over-time.png"), full_page=True)
