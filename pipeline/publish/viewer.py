"""The offline viewer: one HTML page, opened straight from the package folder (file://).

No server and no network: the transcript is inlined as a JavaScript object and the audio is
referenced by its path relative to the page. The page plays the recording, highlights the
segment being spoken, toggles the languages shown, searches both languages at once, and seeks
the audio when a segment or a search result is clicked.
"""

from __future__ import annotations

import html
import json

from .source import MISSING_NOTE, Run, clock
from .transcript import note


def viewer_data(run: Run, audio_path: str) -> dict:
    languages = run.languages
    segments = []
    for segment in run.segments:
        texts, notes, absent = {}, {}, []
        for language in languages:
            rendering = run.text(segment, language)
            missing = rendering.source == "missing"
            texts[language] = MISSING_NOTE[language] if missing else rendering.text
            notes[language] = "" if missing else note(rendering, language)
            if missing:
                absent.append(language)
        segments.append({
            "id": segment["id"], "start": round(segment["start_s"], 3), "end": round(segment["end_s"], 3),
            "clock": clock(segment["start_s"]), "language": segment["language"],
            "session": segment.get("session"),
            "speaker": {l: run.speaker_name(segment, l) for l in languages},
            "text": texts, "note": notes, "missing": absent,
        })
    sessions = [{"id": s["id"], "start": s["start_s"], "title": {l: (s.get("title") or {}).get(l) or s["id"] for l in languages}}
                for s in run.sessions]
    return {"title": {l: run.title(l) for l in languages}, "languages": languages, "audio": audio_path,
            "sessions": sessions, "segments": segments}


def _inline_json(data: dict) -> str:
    """JSON safe inside <script>: no "</script>" or "<!--" can end or confuse the element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def to_html(run: Run, audio_path: str) -> str:
    data = viewer_data(run, audio_path)
    language = run.languages[0]
    buttons = "".join(f'<button type="button" data-show="{l}">{l.upper()}</button>' for l in run.languages)
    return (PAGE.replace("%LANG%", language)
            .replace("%TITLE%", html.escape(run.title(language)))
            .replace("%AUDIO%", html.escape(audio_path, quote=True))
            .replace("%BUTTONS%", buttons)
            .replace("%DATA%", _inline_json(data)))


PAGE = """<!DOCTYPE html>
<html lang="%LANG%">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style>
body{font-family:"Noto Sans","Noto Sans CJK JP",sans-serif;margin:0;line-height:1.5}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.5rem 1rem;z-index:1}
header h1{font-size:1.1rem;margin:.2rem 0}
audio{width:100%}
.controls{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
.controls button[aria-pressed=true]{font-weight:bold;background:#dde}
main{display:flex;gap:1rem;padding:0 1rem}
#transcript{flex:3}#side{flex:1;min-width:14rem;position:sticky;top:9rem;align-self:flex-start;max-height:calc(100vh - 10rem);overflow:auto}
.missing{color:#8a4b00;font-style:italic}
.seg{display:grid;grid-template-columns:6rem 1fr;gap:.5rem;padding:.3rem;border-radius:.3rem;cursor:pointer}
.seg.now{background:#fff6c8}.seg .who{font-weight:bold}.seg .texts{display:grid;gap:.2rem}
.note{color:#666;font-size:.85em}.hidden{display:none}
h2{font-size:1rem;border-bottom:1px solid #ddd}
#results li{cursor:pointer;margin:.3rem 0}mark{background:#ffe066}
</style>
</head>
<body>
<header>
<h1 id="title">%TITLE%</h1>
<audio id="audio" controls preload="metadata" src="%AUDIO%"></audio>
<div class="controls">
<span>Show / 表示:</span><button type="button" data-show="all">EN + JA</button>%BUTTONS%
<label>Search / 検索 <input id="search" type="search" autocomplete="off"></label>
<span id="count" aria-live="polite"></span>
</div>
</header>
<main>
<div id="transcript"></div>
<aside id="side"><h2>Results / 検索結果</h2><ol id="results"></ol><h2>Sessions / セッション</h2><ol id="sessions"></ol></aside>
</main>
<script id="data" type="application/json">%DATA%</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const audio = document.getElementById("audio");
const rows = [];
let shown = "all";

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function seek(seconds) {
  audio.currentTime = seconds;
  follow();
  const playing = audio.play();
  if (playing && playing.catch) playing.catch(() => {});
}
function render() {
  const box = document.getElementById("transcript");
  let session = null;
  for (const seg of DATA.segments) {
    if (seg.session !== session) {
      session = seg.session;
      const info = DATA.sessions.find(s => s.id === session);
      if (info) box.appendChild(el("h2", {id: "session-" + session}, DATA.languages.map(l => info.title[l]).join(" / ")));
    }
    const row = el("div", {class: "seg", id: seg.id, "data-start": seg.start});
    const left = el("div");
    left.appendChild(el("div", {class: "time"}, seg.clock));
    left.appendChild(el("div", {class: "who"}, seg.speaker[DATA.languages[0]]));
    const texts = el("div", {class: "texts"});
    for (const l of DATA.languages) {
      const p = el("p", {lang: l, "data-lang": l, class: seg.missing.includes(l) ? "missing" : ""}, seg.text[l]);
      if (seg.note[l]) p.appendChild(el("span", {class: "note"}, " (" + seg.note[l] + ")"));
      p.style.margin = "0";
      texts.appendChild(p);
    }
    row.append(left, texts);
    row.addEventListener("click", () => seek(seg.start));
    box.appendChild(row);
    rows.push(row);
  }
  const list = document.getElementById("sessions");
  for (const s of DATA.sessions) {
    const item = el("li", {}, DATA.languages.map(l => s.title[l]).join(" / "));
    item.addEventListener("click", () => seek(s.start));
    list.appendChild(item);
  }
}
function show(which) {
  shown = which;
  for (const p of document.querySelectorAll("[data-lang]")) p.classList.toggle("hidden", which !== "all" && p.dataset.lang !== which);
  for (const b of document.querySelectorAll("[data-show]")) b.setAttribute("aria-pressed", String(b.dataset.show === which));
}
const fold = s => s.normalize("NFKC").toLowerCase();
function search(query) {
  const results = document.getElementById("results");
  results.replaceChildren();
  const q = fold(query.trim());
  if (!q) { document.getElementById("count").textContent = ""; return; }
  let found = 0;
  for (const seg of DATA.segments) {
    for (const l of DATA.languages) {
      if (seg.missing.includes(l)) continue;
      const text = seg.text[l];
      const at = fold(text).indexOf(q);
      if (at < 0) continue;
      found++;
      const item = el("li", {class: "result", "data-start": seg.start, "data-segment": seg.id, lang: l});
      item.appendChild(el("span", {class: "time"}, seg.clock + " "));
      item.appendChild(document.createTextNode(text.slice(Math.max(0, at - 20), at)));
      item.appendChild(el("mark", {}, text.slice(at, at + q.length)));
      item.appendChild(document.createTextNode(text.slice(at + q.length, at + q.length + 30)));
      item.addEventListener("click", () => { seek(seg.start); document.getElementById(seg.id).scrollIntoView({block: "center"}); });
      results.appendChild(item);
    }
  }
  document.getElementById("count").textContent = found + " found / 件";
}
function follow() {
  const t = audio.currentTime;
  let lo = 0, hi = DATA.segments.length - 1, at = -1;
  while (lo <= hi) { const mid = (lo + hi) >> 1; if (DATA.segments[mid].start <= t) { at = mid; lo = mid + 1; } else hi = mid - 1; }
  const row = at >= 0 && t <= DATA.segments[at].end + 1 ? rows[at] : null;
  if (row && row.classList.contains("now")) return;
  for (const r of document.querySelectorAll(".seg.now")) r.classList.remove("now");
  if (!row) return;
  row.classList.add("now");
  if (!audio.paused) row.scrollIntoView({block: "nearest"});  // the transcript follows the speech
}
render();
show("all");
for (const b of document.querySelectorAll("[data-show]")) b.addEventListener("click", () => show(b.dataset.show));
document.getElementById("search").addEventListener("input", e => search(e.target.value));
audio.addEventListener("timeupdate", follow);
audio.addEventListener("seeked", follow);
</script>
</body>
</html>
"""
