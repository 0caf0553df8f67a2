"""The offline viewer opened from file:// in Debian's chromium (Playwright): a Japanese search
finds the segment in either language, and clicking the result seeks the audio there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.core.config import load_config
from pipeline.publish.package import publish
from test_publish_fixtures import make_run

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists() and not shutil.which("chromium"), reason="Debian chromium not installed")
def test_viewer_searches_japanese_and_seeks_the_audio_offline(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    out, config = make_run(tmp_path)
    publish(out, load_config(config), tmp_path / "package")
    page_path = tmp_path / "package" / "data" / "index.html"
    requests = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        page.wait_for_function("document.getElementById('audio').readyState >= 1", timeout=15000)
        assert page.evaluate("document.getElementById('audio').duration") == pytest.approx(20.0, abs=0.1)
        assert page.locator(".seg").count() == 4

        # 枠組み is said in Japanese by seg-00003 (10.5 s); "framework" is its English interpretation.
        page.fill("#search", "枠組み")
        results = page.locator("#results li.result")
        results.first.wait_for()
        assert results.count() == 1 and results.first.get_attribute("data-segment") == "seg-00003"
        results.first.click()
        page.wait_for_function("Math.abs(document.getElementById('audio').currentTime - 10.5) < 0.6", timeout=5000)
        page.wait_for_selector("#seg-00003.now", timeout=5000)

        # one search covers both languages: a Japanese word in a machine translation is found too
        page.fill("#search", "大使館")
        assert page.locator("#results li.result").count() == 1
        page.locator("#results li.result").first.click()
        page.wait_for_function("Math.abs(document.getElementById('audio').currentTime - 5.5) < 0.6", timeout=5000)

        # the language toggle hides the other language
        page.click("button[data-show=ja]")
        assert page.locator("#seg-00002 p[lang=en]").is_hidden()
        assert page.locator("#seg-00002 p[lang=ja]").is_visible()
        browser.close()
    assert requests and all(url.startswith("file://") for url in requests)
