"""The review app in a real browser (Debian's chromium driven by Playwright) on the demo run.

One editor's session end to end: open with the token, click a segment and a word (the audio
moves there), correct a word, reload (still there), reassign a whole voice (every segment
renamed), export captions (the correction is in them), a second tab's stale save (conflict),
and transcript text that looks like HTML stays text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import copy_run

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium():
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run scripts/bootstrap.sh install")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


def _open(browser, url: str, editor: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # a new context: its own tab and storage
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    page.fill("#editor", editor)
    page.dispatch_event("#editor", "change")
    page.errors = errors
    return page


def _show(page, sid: str):
    """Scroll to a segment as an editor would (rows are drawn as they come near the screen)."""
    row = page.locator(f"#row-{sid}")
    row.scroll_into_view_if_needed()
    row.locator("button.time").wait_for()
    return row


def _audio_time(page) -> float:
    return page.evaluate("document.getElementById('audio').currentTime")


def test_an_editors_session_in_chromium(chromium, demo_aligned, tmp_path):
    from pipeline.core.storage import read_json
    from pipeline.review.server import ServerThread

    out = copy_run(demo_aligned, tmp_path / "out")
    aligned = read_json(out / "aligned.json")
    english = [s for s in aligned["segments"] if s["language"] == "en" and len(s["words"]) >= 4 and s["start_s"] > 20]
    target = english[len(english) // 2]
    word = max((w["text"].strip() for w in target["words"]), key=len)
    corrected = target["text"].replace(word, "Kasumigaseki", 1)
    with ServerThread(out) as server:
        page = _open(chromium, server.url, "Ann")
        page.wait_for_function("document.getElementById('audio').readyState >= 1", timeout=20_000)
        row = _show(page, target["id"])

        # Click a segment's time, then a word: the audio moves there.
        row.locator("button.time").click()
        page.wait_for_function(f"Math.abs(document.getElementById('audio').currentTime - {target['start_s']}) < 0.05")
        page.wait_for_selector(f"#row-{target['id']}.current")  # the current segment follows the audio
        third = target["words"][2]
        row.locator("span.w").nth(2).click()
        assert abs(_audio_time(page) - third["start_s"]) < 0.05
        page.wait_for_selector(f"#row-{target['id']} span.w.cw[data-i='2']")  # ... and the current word

        # Correct a word, reload: the correction is there (saved in the journal, not the page).
        row.locator("button.edit").click()
        page.fill(f"#row-{target['id']} textarea.edit-text", corrected)
        page.click(f"#row-{target['id']} button.save")
        page.wait_for_selector(f"#row-{target['id']} .version:text('v1')")
        page.reload()
        page.wait_for_selector("body[data-loaded='1']")
        _show(page, target["id"])
        assert "Kasumigaseki" in page.text_content(f"#row-{target['id']} .text")

        # The transcribe stage's changes to the agenda's spelling are shown on their segment.
        changed = next(s for s in aligned["segments"] if s.get("corrections"))
        shown = _show(page, changed["id"]).locator(".corrected").first.text_content()
        assert shown == f"{changed['corrections'][0]['from']} → {changed['corrections'][0]['to']}"

        # Reassign a whole voice in one action: every one of its segments is renamed.
        state = page.evaluate("fetch('/api/state', {headers: {'X-Review-Token': new URLSearchParams(location.search)"
                              ".get('token')}}).then(r => r.json())")
        voices = {}
        for s in state["segments"]:
            if s["voice"]:
                voices.setdefault(s["voice"], []).append(s["id"])
        voice, members = max(voices.items(), key=lambda kv: len(kv[1]))
        assert len(members) >= 3
        first = _show(page, members[0])
        first.locator("button.speaker").click()
        form = first.locator(".speaker-form")
        form.locator("select.person").select_option("")
        form.locator("input.new-name").fill("Mariko Sato")
        form.locator("input.whole-voice").check()
        form.locator("button.apply-speaker").click()
        page.wait_for_selector("#message:text('reassigned')")
        for sid in members:  # rows are drawn as they come near the screen: go and look at each
            member = _show(page, sid)
            assert member.locator("button.speaker").text_content() == "Mariko Sato", sid
        others = [s["id"] for s in state["segments"] if s["voice"] != voice][:10]
        for sid in others:
            _show(page, sid)
            assert page.locator(f"#row-{sid} button.speaker").text_content() != "Mariko Sato"

        # Export captions from the app: the correction and the new name are in them.
        page.click("#export")
        link = page.locator("a.export-link", has_text="captions.srt")
        link.wait_for()
        with page.expect_download() as download:
            link.click()
        srt = Path(download.value.path()).read_text(encoding="utf-8")
        assert "Kasumigaseki" in srt and "Mariko Sato" in srt

        # Two tabs: the second saves over a version the first already changed -> a clear conflict.
        other = english[len(english) // 2 + 1]
        second_tab = _open(chromium, server.url, "Bob")
        _show(second_tab, other["id"]).locator("button.edit").click()
        row = _show(page, other["id"])
        row.locator("button.edit").click()
        page.fill(f"#row-{other['id']} textarea.edit-text", other["text"] + " (Ann)")
        page.click(f"#row-{other['id']} button.save")
        page.wait_for_selector(f"#row-{other['id']} .version:text('v1')")
        second_tab.fill(f"#row-{other['id']} textarea.edit-text", other["text"] + " (Bob)")
        second_tab.click(f"#row-{other['id']} button.save")
        second_tab.wait_for_selector("#message.error")
        message = second_tab.text_content("#message")
        assert re.search(r"Conflict: .*changed by Ann", message)
        # Bob's words are not lost: still in his box to apply again.
        assert second_tab.input_value(f"#row-{other['id']} textarea.edit-text").endswith("(Bob)")

        # Transcript text that looks like HTML is shown as text, never run.
        html = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>"
        row = page.locator(f"#row-{other['id']}")
        row.locator("button.edit").click()
        page.fill(f"#row-{other['id']} textarea.edit-text", html)
        page.click(f"#row-{other['id']} button.save")
        page.wait_for_selector(f"#row-{other['id']} .version:text('v2')")
        assert html in page.text_content(f"#row-{other['id']} .text")
        assert page.evaluate("window.pwned") is None
        assert page.locator(f"#row-{other['id']} .text img").count() == 0
        assert page.errors == [] and second_tab.errors == []
