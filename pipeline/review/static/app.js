// The review page. Plain JS, no build step. Every text from the transcript is set with
// textContent (never parsed as HTML), so a segment that says <script> shows as text.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const audio = $("audio");
const S = {
  segments: [], byId: new Map(), rows: new Map(), people: {}, voices: {}, sessions: [], interp: {},
  report: null, summary: {}, floor: "floor", low: 0.5, selected: null, current: null, currentWord: null,
  viewTrack: null, audioTrack: null, editing: null,
};

// -- helpers ---------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
function clock(s) {
  s = Math.max(0, Math.floor(s));
  const p = (n) => String(n).padStart(2, "0");
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}
function nameOf(name, lang) {
  if (!name) return "(no speaker)";
  if (typeof name === "string") return name;
  return name[lang] || name.en || name.ja || Object.values(name)[0] || "";
}
function editor() { return $("editor").value.trim(); }
function say(text, error) {
  const box = $("message");
  box.textContent = text;
  box.className = error ? "error" : "";
  box.hidden = !text;
  if (!error && text) setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 4000);
}
async function api(method, path, body) {
  const options = { method, headers: { "X-Review-Token": TOKEN } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
  return { status: response.status, data };
}
function needsName() {
  if (editor()) return false;
  say("Enter your name (top right) first: every change is signed.", true);
  $("editor").focus();
  return true;
}

// -- loading and rendering -------------------------------------------------------------------
async function load() {
  const started = performance.now();
  const { status, data } = await api("GET", "/api/state");
  if (status !== 200) { say(data.error || `could not load (${status})`, true); return; }
  S.segments = data.segments;
  S.byId = new Map(S.segments.map((s) => [s.id, s]));
  S.byTrack = null;
  S.people = data.people; S.voices = data.voices; S.sessions = data.sessions || [];
  S.interp = data.interpretation || {}; S.report = data.report; S.summary = data.summary;
  S.floor = data.floor; S.low = data.low_confidence;
  if (data.title) $("title").textContent = `Review: ${nameOf(data.title, "en")}`;
  document.body.classList.toggle("has-interp", Object.keys(S.interp).length > 0);
  setupTracks(data.tracks);
  render();
  renderSide();
  window.reviewLoadedMs = performance.now() - started;
  document.body.dataset.loaded = "1";
}

function setupTracks(tracks) {
  const audioSelect = $("audio-track"), viewSelect = $("view-track");
  const names = tracks.length ? tracks.map((t) => t.name) : [S.floor];
  if (!S.audioTrack || !names.includes(S.audioTrack)) S.audioTrack = names[0];
  if (!S.viewTrack) S.viewTrack = S.floor;
  audioSelect.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
  const segmentTracks = [...new Set(S.segments.map((s) => s.track))];
  viewSelect.replaceChildren(...segmentTracks.map((n) => el("option", { value: n, text: n })));
  audioSelect.value = S.audioTrack; viewSelect.value = S.viewTrack;
  const src = `/audio/${encodeURIComponent(S.audioTrack)}?token=${encodeURIComponent(TOKEN)}`;
  if (audio.getAttribute("src") !== src) audio.src = src;
}

function visible(seg) {
  if (seg.track !== S.viewTrack) return false;
  const filter = $("filter").value;
  if (filter === "unreviewed") return seg.status !== "reviewed";
  if (filter === "needs") return seg.status !== "reviewed" && flagged(seg);
  if (filter === "translation") return seg.status !== "reviewed" && translationFlagged(seg);
  return true;
}
// A machine translation the checks failed or the quality estimate doubts (translate stage).
function translationFlagged(seg) {
  const tr = seg.translation;
  return !!tr && tr.source === "machine" && (tr.status === "needs_translation" || !!(tr.quality && tr.quality.flag));
}
function translationScore(seg) {
  const q = seg.translation && seg.translation.quality;
  if (seg.translation && seg.translation.status === "needs_translation") return -1;
  if (q && q.invented_numbers) return -0.5;  // a number the speaker did not say: next after the failed checks
  if (q && q.unsure_numbers) return -0.4;  // a number from a numeral the recogniser was unsure of: then these
  if (q && q.near_misses) return -0.3;  // a line that nearly says an agenda term: the recogniser misheard it
  return q && q.score !== null ? q.score : 2;
}
function translationDoubt(seg) {
  const q = seg.translation && seg.translation.quality;
  if (q && q.invented_numbers) return ` (a number not in the source: ${q.invented_numbers.join(", ")})`;
  if (q && q.unsure_numbers) return ` (a number the recogniser was unsure of: ${q.unsure_numbers.join(", ")})`;
  if (q && q.near_misses) return ` (heard ${q.near_misses.map((m) => `“${m.heard}” for the agenda's “${m.agenda}”`).join(", ")})`;
  return "";
}
// Transcript order, or the weakest translations first when reviewing translations.
function ordered() {
  if ($("filter").value !== "translation") return S.segments;
  return S.segments.slice().sort((a, b) => translationScore(a) - translationScore(b) || a.start - b.start);
}
function flagged(seg) {
  return seg.flags.length > 0 || (seg.conf !== null && seg.conf < S.low) || !seg.speaker ||
    String(seg.speaker).startsWith("unknown") || seg.words.some((w) => w[3] < S.low);
}

// Rows are built when they come near the screen and emptied again when they leave it: a 3-hour
// transcript has ~3,000 segments and ~100,000 words, and only the few dozen near the screen need
// their nodes. Rows are grouped in chunks of CHUNK; a chunk far from the screen is "cold": its
// rows are empty, its height is fixed, and the browser skips it (content-visibility: hidden).
const CHUNK = 25;
const ROW_PX = 96, HEADING_PX = 44;
const warmer = new IntersectionObserver((entries) => {
  for (const entry of entries) (entry.isIntersecting ? warm : cool)(entry.target);
}, { rootMargin: "1500px 0px" });

function render() {
  const list = $("transcript");
  const fragment = document.createDocumentFragment();
  const sessions = new Map(S.sessions.map((s) => [s.id, s]));
  warmer.disconnect();
  S.rows = new Map();
  let lastSession, chunk = null, rows = 0, headings = 0;
  const close = () => { if (chunk) chunk.style.height = `${rows * ROW_PX + headings * HEADING_PX}px`; };
  for (const seg of ordered()) {
    if (!visible(seg)) continue;
    if (!chunk || rows === CHUNK) {
      close();
      chunk = el("div", { class: "chunk cold" });
      rows = 0; headings = 0;
      fragment.append(chunk);
      warmer.observe(chunk);
    }
    if (seg.session !== lastSession && seg.session) {
      const session = sessions.get(seg.session) || { title: seg.session };
      chunk.append(el("h2", { class: "session" }, nameOf(session.title, "en"),
        el("small", { text: nameOf(session.title, "ja") === nameOf(session.title, "en") ? "" : nameOf(session.title, "ja") })));
      headings += 1;
    }
    lastSession = seg.session;
    const row = el("div", { class: "seg stub", id: `row-${seg.id}`, "data-id": seg.id });
    S.rows.set(seg.id, row);
    chunk.append(row);
    rows += 1;
  }
  close();
  list.replaceChildren(fragment);
  updateProgress();
}

function warm(chunk) {
  if (!chunk.classList.contains("cold")) return;
  for (const row of chunk.querySelectorAll(".seg.stub")) fill(row, S.byId.get(row.dataset.id));
  chunk.classList.remove("cold");
  chunk.style.height = "";
}

function cool(chunk) {
  if (chunk.classList.contains("cold") || chunk.contains(document.activeElement) ||
      chunk.querySelector("textarea, .speaker-form")) return;
  chunk.style.height = `${chunk.offsetHeight}px`;
  for (const row of chunk.querySelectorAll(".seg:not(.stub)")) { row.replaceChildren(); row.classList.add("stub"); }
  chunk.classList.add("cold");
}

function ensureFilled(id) {
  const row = S.rows.get(id);
  if (row) warm(row.parentElement);
  return row;
}

function fill(row, seg) {
  row.classList.remove("stub");
  row.replaceChildren(...segmentParts(seg));
  row.classList.toggle("reviewed", seg.status === "reviewed");
  row.classList.toggle("selected", S.selected === seg.id);
  row.classList.toggle("current", S.current === seg.id);
}

function segmentParts(seg) {
  const meta = el("div", { class: "meta" },
    el("button", { class: "time", title: "play from here", text: clock(seg.start), onclick: () => seek(seg.start, seg.id) }),
    el("button", { class: "speaker", title: "change the speaker", text: nameOf(seg.name, seg.lang),
                   onclick: () => speakerForm(seg) }),
    seg.voice ? el("span", { class: "voice", text: seg.voice }) : null,
    el("span", { class: "lang", text: seg.lang || "?" }),
    ...seg.flags.map((f) => el("span", { class: "flag", text: f.replace(/_/g, " ") })),
    seg.conf !== null && seg.conf < S.low ? el("span", { class: "flag", text: `confidence ${seg.conf.toFixed(2)}` }) : null,
    ...(seg.corrections || []).map((c) => el("span", { class: "corrected", text: `${c.from} → ${c.to}`,
      title: `changed to the agenda's spelling (${c.kind}): ${c.evidence}. Put the heard words back if the agenda is wrong here.` })),
    seg.edited ? el("span", { class: "edited", text: "edited" }) : null,
    el("span", { class: "version", text: `v${seg.version}` }));
  const text = el("div", { class: "text", lang: seg.lang || "" });
  if (seg.words.length) {
    seg.words.forEach((w, i) => {
      const span = el("span", { class: w[3] < S.low ? "w low" : "w", "data-i": i, text: w[2] });
      if (w[3] < S.low) span.title = `probability ${w[3]}`;
      text.append(span);
    });
  } else {
    text.textContent = seg.text;
  }
  text.addEventListener("click", (event) => {
    const i = event.target.dataset ? event.target.dataset.i : undefined;
    if (i !== undefined) seek(seg.words[Number(i)][0], seg.id);
    else select(seg.id);
  });
  text.addEventListener("dblclick", () => editText(seg));
  const cols = el("div", { class: "cols" }, text);
  const tr = seg.translation;
  cols.append(el("div", { class: "translation", lang: seg.target || "", title: "double-click to edit the translation",
                          ondblclick: () => editTranslation(seg) },
    tr ? tr.text : "—", el("span", { class: "src", text: tr ? `translation (${tr.source})` +
      (translationFlagged(seg) ? " · needs review: translation" + translationDoubt(seg) : "") : "no translation yet" })));
  if (document.body.classList.contains("has-interp")) {
    const it = S.interp[seg.id];
    cols.append(el("div", { class: "interp", title: "the interpreter's rendering; click to hear it",
                            onclick: () => it && it.start !== null && it.start !== undefined && playInterpretation(it) },
      it ? it.text : "—", el("span", { class: "src", text: it ? `interpreter (${it.source})` : "" })));
  }
  const reviewed = el("input", { type: "checkbox", class: "reviewed-box", checked: seg.status === "reviewed" });
  reviewed.addEventListener("change", () => setStatus(seg, reviewed.checked ? "reviewed" : "unreviewed"));
  const actions = el("div", { class: "actions" },
    el("label", {}, reviewed, " reviewed"),
    el("button", { class: "edit", text: "Edit", onclick: () => editText(seg) }),
    el("button", { class: "merge", text: "Merge with next", onclick: () => mergeNext(seg) }),
    el("button", { class: "history", text: "History", onclick: () => showHistory(seg) }));
  return [meta, cols, actions];
}

function rerender(seg) {
  const row = S.rows.get(seg.id);
  if (row && !row.classList.contains("stub")) fill(row, seg);
}

function updateProgress() {
  const total = S.summary.segments, done = S.summary.reviewed;
  $("progress").textContent = `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} segments reviewed`;
  const conflicts = (S.summary.conflicts || []).length;
  $("conflict-count").hidden = conflicts === 0;
  $("conflict-count").textContent = `${conflicts} conflict${conflicts === 1 ? "" : "s"}`;
}

function renderSide() {
  const conflicts = S.summary.conflicts || [];
  $("conflicts-panel").hidden = conflicts.length === 0;
  $("conflicts").replaceChildren(...conflicts.map((c) => el("li", {},
    el("b", { text: `${c.kind} by ${c.editor || "?"}` }), ` at ${clock(c.anchor.start_s || 0)}: ${c.reason} `,
    c.payload && c.payload.text ? el("i", { text: `(wanted «${c.payload.text}») ` }) : null,
    c.anchor.start_s !== undefined ? el("button", { text: "listen", onclick: () => seek(c.anchor.start_s) }) : null,
    el("button", { text: "dismiss", onclick: () => dismiss(c.edit) }))));
  renderReport();
}

// -- the report ------------------------------------------------------------------------------
// report.json: sections with claims {text, cites: [segment ids]}, per language where drafted in
// two ({en: [...], ja: [...]}); parts per person. Only the chosen language is shown.
const SKIP_KEYS = new Set(["person", "title", "checks", "verdict", "input_hash", "origin", "status", "id", "kind",
                           "session", "segments", "speech_s", "source_language", "provenance", "budget_words"]);
// Where a report sentence came from, for the editor only (the published text is clean).
const PROVENANCE = { machine: "machine translation", llm: "machine translation", interpreter: "as rendered by the interpreter",
                     editor: "translation by an editor" };
function provenanceOf(value) {
  const from = (value.provenance || []).map((p) => PROVENANCE[p] || p);
  const marks = (value.clauses || []).flatMap((c) => (c.checks && c.checks.marked) || []);
  return [...new Set([...from, ...marks])].join("; ");
}
function claimsOf(value, lang, out) {
  if (Array.isArray(value)) { value.forEach((v) => claimsOf(v, lang, out)); return out; }
  if (!value || typeof value !== "object") return out;
  if (Array.isArray(value.cites)) {
    const text = typeof value.text === "string" ? value.text : typeof value[lang] === "string" ? value[lang] : "";
    out.push({ text, cites: value.cites, marked: value.status === "marked", note: provenanceOf(value) });
    return out;
  }
  if ("en" in value || "ja" in value) {
    const own = value[lang];
    if (typeof own === "string") out.push({ text: own, cites: [] });
    else claimsOf(own, lang, out);
    return out;
  }
  for (const [key, v] of Object.entries(value)) if (!SKIP_KEYS.has(key)) claimsOf(v, lang, out);
  return out;
}
function claimNode(claim) {
  const p = el("p", { class: claim.marked ? "marked" : "", text: `${claim.text} ` });
  if (claim.note) p.append(el("small", { class: "provenance", text: `(${claim.note}) ` }));
  for (const id of claim.cites) p.append(citeButton(id));
  return p;
}
function sectionText(section, lang) {
  const lines = [];
  for (const part of section.parts || []) {
    lines.push(nameOf(part.person && part.person.name, lang));
    for (const c of claimsOf(part, lang, [])) lines.push(c.text);
  }
  for (const c of claimsOf({ ...section, parts: undefined }, lang, [])) lines.push(c.text);
  return lines.filter(Boolean).join("\n");
}
function renderReport() {
  const sections = S.report && Array.isArray(S.report.sections) ? S.report.sections.filter((s) => s && s.id) : [];
  $("report-panel").hidden = sections.length === 0;
  const lang = $("report-lang").value;
  const status = S.summary.sections || {};
  const rewritten = S.summary.section_texts || {};
  $("report").replaceChildren(...sections.map((section) => {
    const id = String(section.id);
    const cites = claimsOf(section, lang, []).flatMap((c) => c.cites);
    const stale = cites.some((c) => (S.byId.get(c) || {}).edited);
    const box = el("input", { type: "checkbox", class: "approve", checked: status[id] === "reviewed" });
    box.addEventListener("change", () => sectionStatus(id, box.checked ? "reviewed" : "unreviewed"));
    const title = section.title ? nameOf(section.title, lang) : id === "overview" ? "Overview" : id;
    const body = el("div", { class: `section${stale ? " stale" : ""}`, "data-id": id },
      el("h3", { text: title }), el("label", {}, box, " approved "),
      el("button", { text: "Rewrite", onclick: () => rewriteSection(section, body, lang) }));
    const own = (rewritten[id] || {})[lang];
    if (own) {
      body.append(el("p", { class: "rewritten", text: own }), el("small", { text: "written by an editor" }));
      return body;
    }
    for (const part of section.parts || []) {
      body.append(el("h4", { text: nameOf(part.person && part.person.name, lang) }));
      for (const claim of claimsOf(part, lang, [])) body.append(claimNode(claim));
    }
    for (const claim of claimsOf({ ...section, parts: undefined }, lang, [])) body.append(claimNode(claim));
    return body;
  }));
}
function rewriteSection(section, body, lang) {
  const area = el("textarea", { class: "edit-section", lang });
  area.value = ((S.summary.section_texts || {})[String(section.id)] || {})[lang] || sectionText(section, lang);
  const submit = async () => {
    const ok = await save(`/api/report/sections/${encodeURIComponent(section.id)}/text`,
      { language: lang, text: area.value }, "report section saved");
    if (ok) renderReport();
  };
  body.replaceChildren(area, el("button", { text: "Save", onclick: submit }),
    el("button", { text: "Cancel", onclick: renderReport }));
  area.focus();
}
function citeButton(id) {
  const seg = S.byId.get(id);
  const known = S.report && S.report.segments && S.report.segments[id];
  const start = seg ? seg.start : known ? known.start_s : 0;
  return el("button", { class: "cite", text: `[${clock(start)}]`, title: id, onclick: () => {
    seek(start, seg ? id : undefined);
    const row = seg && ensureFilled(id);
    if (row) row.scrollIntoView({ block: "center" });
  } });
}

// -- playback --------------------------------------------------------------------------------
function seek(time, id) {
  if (S.audioTrack !== S.viewTrack && S.byId.get(id) && S.byId.get(id).track !== S.audioTrack) {
    switchAudio(S.byId.get(id).track);
  }
  audio.currentTime = time;
  if (id) select(id);
}
function playInterpretation(it) {
  switchAudio(it.track);
  audio.currentTime = it.start;
  audio.play().catch(() => {});
}
function switchAudio(track) {
  if (!track || track === S.audioTrack) return;
  S.audioTrack = track;
  $("audio-track").value = track;
  audio.src = `/audio/${encodeURIComponent(track)}?token=${encodeURIComponent(TOKEN)}`;
}
function select(id) {
  if (S.selected && S.rows.get(S.selected)) S.rows.get(S.selected).classList.remove("selected");
  S.selected = id;
  const row = ensureFilled(id);
  if (row) row.classList.add("selected");
}
function segmentAt(time) {
  if (!S.byTrack) {  // rebuilt after each change: playback looks segments up many times a second
    S.byTrack = new Map();
    for (const seg of S.segments) {
      if (!S.byTrack.has(seg.track)) S.byTrack.set(seg.track, []);
      S.byTrack.get(seg.track).push(seg);
    }
  }
  const list = S.byTrack.get(S.audioTrack) || [];
  let lo = 0, hi = list.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].start <= time) { found = list[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return found && time <= found.end + 0.3 ? found : null;
}
function follow() {
  const seg = segmentAt(audio.currentTime);
  const id = seg ? seg.id : null;
  if (id !== S.current) {
    if (S.current && S.rows.get(S.current)) S.rows.get(S.current).classList.remove("current");
    S.current = id;
    const row = id && ensureFilled(id);
    if (row) {
      row.classList.add("current");
      if ($("follow").checked && !S.editing) {
        const box = row.getBoundingClientRect();
        if (box.top < 120 || box.bottom > innerHeight) row.scrollIntoView({ block: "center" });
      }
    }
  }
  if (S.currentWord) S.currentWord.classList.remove("cw");
  S.currentWord = null;
  if (seg && S.rows.get(seg.id)) {
    let i = -1;  // the last word started, while it lasts (and a short pause after it)
    for (let k = seg.words.length - 1; k >= 0; k--) if (seg.words[k][0] <= audio.currentTime) { i = k; break; }
    if (i >= 0 && audio.currentTime > seg.words[i][1] + 0.25) i = -1;
    if (i >= 0) {
      S.currentWord = S.rows.get(seg.id).querySelector(`span.w[data-i="${i}"]`);
      if (S.currentWord) S.currentWord.classList.add("cw");
    }
  }
}
function tick() { follow(); if (!audio.paused) requestAnimationFrame(tick); }
audio.addEventListener("play", () => requestAnimationFrame(tick));
audio.addEventListener("seeked", follow);
function togglePlay() { if (audio.paused) audio.play().catch(() => {}); else audio.pause(); }

// -- changes ---------------------------------------------------------------------------------
function applyResult(data) {
  if (data.summary) S.summary = data.summary;
  S.byTrack = null;
  for (const seg of data.changed || []) {
    const index = S.segments.findIndex((s) => s.id === seg.id);
    if (index >= 0) S.segments[index] = seg;
    S.byId.set(seg.id, seg);
    if (seg.id !== S.editing) rerender(seg); // never throw away what an editor is typing

  }
  updateProgress();
  renderSide();
}
async function save(path, body, okText) {
  if (needsName()) return null;
  const { status, data } = await api("POST", path, { ...body, editor: editor() });
  if (status === 200) {
    if (data.reload) await load(); else applyResult(data);
    if (okText) say(data.message || okText);
    return data;
  }
  if (status === 409) {
    say(`Conflict: ${data.error}${S.editing ? " Your text is still in the box; Cancel shows the current one." : ""}`, true);
    if (data.segment) applyResult({ changed: [data.segment] });
    if (data.reload) await load();
    return null;
  }
  say(data.error || `failed (${status})`, true);
  return null;
}

function editText(seg) {
  const row = ensureFilled(seg.id);
  if (!row || S.editing) return;
  audio.pause(); // playback pauses while an editor types
  S.editing = seg.id;
  const box = row.querySelector(".text");
  const area = el("textarea", { class: "edit-text", lang: seg.lang || "" });
  area.value = seg.text;
  const done = () => { S.editing = null; rerender(S.byId.get(seg.id) || seg); };
  const submit = async () => {
    const current = S.byId.get(seg.id) || seg;
    const result = await save(`/api/segments/${encodeURIComponent(seg.id)}/text`,
      { text: area.value, version: seg.version }, "saved");
    if (result) done(); else if (current.version !== seg.version) seg.version = current.version;
  };
  const splitHere = async () => {
    if (area.value !== seg.text) { say("Save or undo your typing before splitting.", true); return; }
    const result = await save(`/api/segments/${encodeURIComponent(seg.id)}/split`,
      { offset: area.selectionStart, version: seg.version }, "split");
    if (result) S.editing = null;
  };
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); }
    if (event.key === "Escape") { event.preventDefault(); done(); }
  });
  const form = el("div", { class: "edit-form" }, area,
    el("button", { class: "save", text: "Save", onclick: submit }),
    el("button", { class: "split", text: "Split at cursor", onclick: splitHere }),
    el("button", { class: "cancel", text: "Cancel", onclick: done }));
  box.replaceWith(form);
  area.focus();
}

function editTranslation(seg) {
  const row = ensureFilled(seg.id);
  if (!row || S.editing || !seg.target) return;
  S.editing = seg.id;
  const cell = row.querySelector(".translation");
  const area = el("textarea", { class: "edit-translation", lang: seg.target });
  area.value = seg.translation ? seg.translation.text : "";
  const done = () => { S.editing = null; rerender(S.byId.get(seg.id) || seg); };
  const submit = async () => {
    const result = await save(`/api/segments/${encodeURIComponent(seg.id)}/translation`,
      { language: seg.target, text: area.value, version: seg.version }, "translation saved");
    if (result) done();
  };
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); }
    if (event.key === "Escape") done();
  });
  cell.replaceWith(el("div", { class: "translation" }, area,
    el("button", { class: "save", text: "Save", onclick: submit }), el("button", { text: "Cancel", onclick: done })));
  area.focus();
}

function speakerForm(seg) {
  const row = ensureFilled(seg.id);
  if (!row || row.querySelector(".speaker-form")) return;
  const select_ = el("select", { class: "person" },
    ...Object.entries(S.people).map(([id, p]) => el("option", { value: id, text: `${nameOf(p.name, "en")} (${id})` })),
    el("option", { value: "", text: "new name…" }));
  select_.value = seg.speaker || "";
  const newName = el("input", { class: "new-name", placeholder: "name", size: 14 });
  const members = seg.voice ? S.segments.filter((s) => s.voice === seg.voice).length : 0;
  const whole = el("input", { type: "checkbox", class: "whole-voice", disabled: !seg.voice });
  const apply = async () => {
    const who = select_.value ? { person: select_.value } : { name: newName.value.trim() };
    const ok = whole.checked
      ? await save(`/api/voices/${encodeURIComponent(seg.voice)}/assign`, who, `voice ${seg.voice} reassigned`)
      : await save(`/api/segments/${encodeURIComponent(seg.id)}/speaker`, { ...who, version: seg.version }, "speaker changed");
    if (ok) form.remove();
  };
  const form = el("div", { class: "speaker-form" }, "Speaker:", select_, newName,
    el("label", {}, whole, ` all ${members} segments of voice ${seg.voice || "?"}`),
    el("button", { class: "apply-speaker", text: "Apply", onclick: apply }),
    el("button", { text: "Cancel", onclick: () => form.remove() }));
  row.querySelector(".meta").after(form);
}

async function setStatus(seg, status) {
  await save(`/api/segments/${encodeURIComponent(seg.id)}/status`, { status, version: seg.version });
  if ($("filter").value !== "all") render();
}
async function mergeNext(seg) {
  const same = S.segments.filter((s) => s.track === seg.track);
  const next = same[same.findIndex((s) => s.id === seg.id) + 1];
  if (!next) { say("This is the last segment of its track.", true); return; }
  await save(`/api/segments/${encodeURIComponent(seg.id)}/merge`,
    { next_id: next.id, version: seg.version, next_version: next.version }, "merged");
}
async function sectionStatus(id, status) {
  await save(`/api/report/sections/${encodeURIComponent(id)}/status`, { status }, "report section updated");
}
async function dismiss(editId) {
  await save(`/api/conflicts/${editId}/dismiss`, {}, "conflict dismissed");
}
async function undo() {
  await save("/api/undo", {}, "undone");
}
async function showHistory(seg) {
  const { status, data } = await api("GET", `/api/segments/${encodeURIComponent(seg.id)}/history`);
  if (status !== 200) { say(data.error, true); return; }
  $("history-panel").hidden = false;
  $("history-title").textContent = `History of ${seg.id}`;
  $("history").replaceChildren(...(data.history.length ? data.history.map((h) => el("li", { class: h.undone ? "undone" : "" },
    el("b", { text: h.editor }), ` ${h.at.replace("T", " ").replace("+00:00", " UTC")} ${h.kind}: `,
    h.before !== null ? `«${h.before}» → ` : "", `«${h.after ?? ""}»`, h.conflict ? " (conflict)" : "")) :
    [el("li", { text: "no changes yet" })]));
}

async function replaceAll() {
  const find = $("find").value;
  if (!find) return;
  const data = await save("/api/replace", { find, replace: $("replace").value, case_sensitive: $("case").checked,
                                            track: S.viewTrack });
  if (data) say(`replaced in ${data.count} segment${data.count === 1 ? "" : "s"}`);
}
function countMatches() {
  const find = $("find").value;
  if (!find) { $("find-count").textContent = ""; return; }
  const needle = $("case").checked ? find : find.toLowerCase();
  const n = S.segments.filter((s) => s.track === S.viewTrack &&
    ($("case").checked ? s.text : s.text.toLowerCase()).includes(needle)).length;
  $("find-count").textContent = `${n} segment${n === 1 ? "" : "s"}`;
}

async function exportCaptions() {
  const data = await save("/api/export", {}, "captions exported");
  if (!data) return;
  $("export-links").replaceChildren(...data.files.map((f) =>
    el("a", { href: `${f}?token=${encodeURIComponent(TOKEN)}`, download: f.split("/").pop(), class: "export-link",
              text: f.split("/").pop() }), " "));
}

function nextFlagged() {
  const list = S.segments.filter((s) => visible(s) || (s.track === S.viewTrack && $("filter").value !== "all"));
  const from = S.byId.get(S.selected || S.current);
  const start = from ? from.start : -1;
  const next = list.find((s) => s.start > start && s.status !== "reviewed" && flagged(s)) ||
               list.find((s) => s.status !== "reviewed" && flagged(s));
  if (!next) { say("No flagged segment left to review."); return; }
  seek(next.start, next.id);
  const row = ensureFilled(next.id);
  if (row) row.scrollIntoView({ block: "center" });
}

// -- keys and controls ------------------------------------------------------------------------
document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.code === "Space" && event.ctrlKey) { event.preventDefault(); togglePlay(); return; }
  if (typing || event.altKey || event.metaKey) return;
  if (event.ctrlKey) {
    if (event.key === "z") { event.preventDefault(); undo(); }
    return;
  }
  const seg = S.byId.get(S.selected || S.current);
  switch (event.key) {
    case " ": case "k": event.preventDefault(); togglePlay(); break;
    case "j": audio.currentTime = Math.max(0, audio.currentTime - 5); break;
    case "l": audio.currentTime = audio.currentTime + 5; break;
    case "n": nextFlagged(); break;
    case "r": if (seg) setStatus(seg, "reviewed").then(nextFlagged); break;
    case "e": case "Enter": if (seg) { event.preventDefault(); editText(seg); } break;
    default: break;
  }
});
$("editor").value = localStorage.getItem("reviewEditor") || "";
$("editor").addEventListener("change", () => localStorage.setItem("reviewEditor", editor()));
$("filter").addEventListener("change", render);
$("view-track").addEventListener("change", () => { S.viewTrack = $("view-track").value; render(); });
$("audio-track").addEventListener("change", () => switchAudio($("audio-track").value));
$("next-flagged").addEventListener("click", nextFlagged);
$("replace-all").addEventListener("click", replaceAll);
$("find").addEventListener("input", countMatches);
$("case").addEventListener("change", countMatches);
$("undo").addEventListener("click", undo);
$("export").addEventListener("click", exportCaptions);
$("report-lang").addEventListener("change", renderReport);
load();
