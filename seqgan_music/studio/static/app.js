// seqgan-music studio: the page. Plain JavaScript, no build step, nothing from the internet.
// Every action is one JSON call to the studio's own API; the server does the music.
"use strict";

const TOKEN = document.querySelector('meta[name="studio-token"]').content;
// Sent on every call: a page of another site or port cannot send it (docs/security.md).
const CSRF = document.querySelector('meta[name="studio-csrf"]').content;
const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const MIN_BEAT_PX = 12;
const COLOURS = { primer: "#6f9bd1", generated: "#f0913a" };
const $ = (id) => document.getElementById(id);

const state = { tunes: [], current: null, models: null, tasks: [], methods: [], source: null };

// --- talking to the studio ----------------------------------------------------------------

async function api(path, options = {}) {
  const headers = { "X-Studio-Token": TOKEN, "X-Studio-CSRF": CSRF, ...(options.headers || {}) };
  let response;
  try {
    response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  } catch (error) {
    throw new Error("the studio is not answering (was it stopped?)");
  }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

const post = (path, body) => api(path, {
  method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
});

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind === "error" ? "message" : "message note";
  box.hidden = !text;
  if (kind !== "error" && text) setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 4000);
}

async function upload(file, kind) {
  const path = `/api/upload?kind=${kind}&name=${encodeURIComponent(file.name)}`;
  return api(path, { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
}

// --- tabs ---------------------------------------------------------------------------------

function showTab(name) {
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
  document.querySelectorAll(".page").forEach((p) => p.classList.toggle("active", p.id === name));
  if (name === "runs") loadRuns();
  if (name === "train") loadResumable();
  if (name === "compose") drawRoll();
}

// --- compose ------------------------------------------------------------------------------

async function loadModels(select) {
  const models = await api("/api/models");
  state.models = models;
  const box = $("model");
  const keep = select || box.value;
  box.replaceChildren();
  const group = (label, items) => {
    if (!items.length) return;
    const g = document.createElement("optgroup");
    g.label = label;
    for (const item of items) g.append(new Option(item.text, item.id));
    box.append(g);
  };
  group("Shipped with seqgan-music", models.shipped.map((m) => ({ id: m.id, text: `${m.name} — ${m.summary}` })));
  group("Your runs", models.runs.map((r) => ({ id: `run:${r.id}`, text: `${r.id} (${r.method}, ${r.state})` })));
  group("Uploaded", models.uploads.map((u) => ({ id: u.id, text: u.name })));
  if (keep && [...box.options].some((o) => o.value === keep)) box.value = keep;
  else {  // the model the CLI's compose plays by default, never a run picked implicitly
    const first = models.shipped.find((m) => m.default);
    if (first) box.value = first.id;
  }
}

function refreshPrimers() {
  const box = $("primer");
  const keep = box.value;
  [...box.options].slice(1).forEach((o) => o.remove());
  if (state.current) box.append(new Option(`the tune on screen (#${state.current.number})`, `tune:${state.current.id}`));
  for (const u of state.primers || []) box.append(new Option(`uploaded: ${u.name}`, `upload:${u.id}`));
  if ([...box.options].some((o) => o.value === keep)) box.value = keep;
}

function composeRequest() {
  return {
    model: $("model").value, temperature: Number($("temperature").value),
    length: $("length").value === "" ? null : Number($("length").value),
    seed: Number($("seed").value), num: Number($("num").value),
    tempo: Number($("tempo").value), program: Number($("program").value), primer: $("primer").value,
    key: $("key").value, meter: $("meter").value,
    chords: $("chords").checked, accompaniment: Number($("accompaniment").value),
    form: $("form").value, bars: $("bars").value === "" ? null : Number($("bars").value),
  };
}

async function compose(request) {
  const button = $("compose-button");
  button.disabled = true;
  button.textContent = "Composing…";
  const started = performance.now();
  try {
    const answer = await post("/api/compose", request);
    say("");
    const first = state.tunes.length;
    for (const tune of answer.tunes) {
      tune.number = state.tunes.length + 1;
      tune.made = `${((performance.now() - started) / 1000).toFixed(2)} s`;
      state.tunes.push(tune);
    }
    showTune(state.tunes[first], true);
    renderHistory();
  } catch (error) {
    say(error.message);
  } finally {
    button.disabled = false;
    button.textContent = "Compose";
  }
}

function showTune(tune, play) {
  state.current = tune;
  $("tune-title").textContent = `Tune #${tune.number} — seed ${tune.options.seed}, temperature ${tune.options.temperature}`;
  const player = $("player");
  player.src = tune.wav;
  if (play) player.play().catch(() => {});
  const synth = $("synth");
  synth.textContent = `Audio: ${tune.synth.text}.`;
  synth.classList.toggle("fluid", tune.synth.fluidsynth);
  for (const [id, key, ext] of [["dl-midi", "midi", "mid"], ["dl-musicxml", "musicxml", "musicxml"], ["dl-wav", "wav", "wav"], ["dl-abc", "abc", "abc"], ["dl-svg", "svg", "svg"]]) {
    const link = $(id);
    link.hidden = !tune[key];
    if (!tune[key]) continue;
    link.href = tune[key];
    link.download = `seqgan-tune-${tune.number}.${ext}`;
  }
  showScore(tune);
  $("continue").disabled = false;
  $("vary").disabled = false;
  const primer = tune.primer_beats ? `, primer ${Math.round(tune.primer_beats)} beats` : "";
  const warn = tune.warnings.length ? `  ⚠ ${tune.warnings.join("; ")}` : "";
  $("tune-info").textContent = `${tune.notes.length} notes, ${Math.round(tune.beats)} beats at ${tune.options.tempo} qpm${primer}; model: ${tune.model_label}; round trip ${tune.made}.${warn}`;
  refreshPrimers();
  renderHistory();
  drawRoll();
}

async function showScore(tune) {
  // The engraved score (Verovio's SVG, made by compose) beside the piano roll.
  const box = $("score"), page = $("score-page");
  box.hidden = !tune.svg;
  box.dataset.notes = "0";
  page.replaceChildren();
  if (!tune.svg) return;
  try {
    const answer = await fetch(tune.svg, { headers: { "X-Studio-Token": TOKEN } });
    if (!answer.ok || state.current !== tune) return;
    const parsed = new DOMParser().parseFromString(await answer.text(), "image/svg+xml");
    // shown as an image: the SVG keeps its own styles (the page's CSP allows no inline style)
    const image = new Image();
    image.alt = "score";
    image.src = tune.svg;
    page.replaceChildren(image);
    box.dataset.notes = String(parsed.querySelectorAll("g.note").length);
    box.dataset.chords = String(parsed.querySelectorAll("g.harm").length);
  } catch (error) {
    say(`the score could not be shown: ${error.message}`);
  }
}

function renderHistory() {
  const list = $("history");
  list.replaceChildren();
  for (const tune of [...state.tunes].reverse()) {
    const item = document.createElement("li");
    const o = tune.options;
    const from = o.primer ? (o.primer.startsWith("tune:") ? ` continuing #${state.tunes.find((t) => `tune:${t.id}` === o.primer)?.number ?? "?"}` : " from an uploaded primer") : "";
    item.textContent = `#${tune.number}: seed ${o.seed}, T ${o.temperature}, ${o.length ? `${o.length} steps` : "whole tune"}${o.key ? `, ${o.key}` : ""}${o.meter ? `, ${o.meter}` : ""}${from}`;
    item.value = tune.number;
    item.classList.toggle("current", tune === state.current);
    item.addEventListener("click", () => showTune(tune, true));
    list.append(item);
  }
}

function pitchName(pitch) {
  return `${NAMES[pitch % 12]}${Math.floor(pitch / 12) - 1}`;
}

function drawRoll() {
  const canvas = $("roll");
  const wrap = canvas.parentElement;
  const height = canvas.clientHeight || 360;
  // Long tunes scroll sideways: at least MIN_BEAT_PX per beat, never narrower than the panel.
  const beatsShown = state.current ? Math.max(state.current.beats, 1) : 1;
  const width = Math.max(wrap.clientWidth || 900, Math.ceil(46 + beatsShown * MIN_BEAT_PX));
  canvas.style.width = `${width}px`;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.fillStyle = "#14161a";
  g.fillRect(0, 0, width, height);
  const tune = state.current;
  canvas.dataset.notes = tune ? tune.notes.length : 0;
  if (!tune) {
    g.fillStyle = "#9aa1ad";
    g.font = "14px system-ui, sans-serif";
    g.fillText("Compose a tune: it appears here as a piano roll and plays at once.", 24, height / 2);
    return;
  }
  const pitches = tune.notes.map((n) => n.pitch);
  let low = Math.min(...pitches, 72) - 2;
  let high = Math.max(...pitches, 60) + 2;
  if (!pitches.length) { low = 58; high = 74; }
  while (high - low < 14) { low -= 1; high += 1; }
  const keys = 46, top = 18;
  const rows = high - low + 1;
  const rowH = (height - top) / rows;
  const beats = Math.max(tune.beats, ...tune.notes.map((n) => n.end), 1);
  const beatW = (width - keys) / beats;
  const x = (beat) => keys + beat * beatW;
  const y = (pitch) => top + (high - pitch) * rowH;
  for (let p = low; p <= high; p++) {  // rows: black keys darker
    g.fillStyle = [1, 3, 6, 8, 10].includes(p % 12) ? "#191b20" : "#1e2127";
    g.fillRect(keys, y(p), width - keys, rowH);
  }
  if (tune.primer_beats > 0) {  // the primer's stretch, shaded
    g.fillStyle = "rgba(111, 155, 209, 0.10)";
    g.fillRect(keys, top, tune.primer_beats * beatW, height - top);
  }
  const perBar = tune.beats_per_bar || 4;  // in quarter notes: 3 for 3/4 and for 6/8 (six eighths)
  for (let b = 0; b <= beats; b++) {  // beat lines (quarter notes)
    g.strokeStyle = "#2a2e36";
    g.lineWidth = 0.6;
    g.beginPath(); g.moveTo(x(b), top); g.lineTo(x(b), height); g.stroke();
  }
  for (let i = 0, b = 0; b <= beats + 1e-6; i++, b = i * perBar) {  // bar lines, bar numbers
    g.strokeStyle = "#4a505c";
    g.lineWidth = 1.2;
    g.beginPath(); g.moveTo(x(b), top); g.lineTo(x(b), height); g.stroke();
    if (b < beats) {
      g.fillStyle = "#9aa1ad";
      g.font = "11px system-ui, sans-serif";
      g.fillText(String(i + 1), x(b) + 3, 13);
    }
  }
  for (const n of tune.notes) {
    const primer = n.start < tune.primer_beats - 1e-6;
    g.fillStyle = primer ? COLOURS.primer : COLOURS.generated;
    const w = Math.max((n.end - n.start) * beatW - 1, 2);
    g.fillRect(x(n.start) + 0.5, y(n.pitch) + 1, w, Math.max(rowH - 2, 2));
    g.strokeStyle = "rgba(0,0,0,0.5)";
    g.strokeRect(x(n.start) + 0.5, y(n.pitch) + 1, w, Math.max(rowH - 2, 2));
  }
  const left = wrap.scrollLeft;  // the keyboard stays in view when the roll scrolls
  g.fillStyle = "#14161a";
  g.fillRect(left, 0, keys, height);
  for (let p = low; p <= high; p++) {  // keys with pitch names, C keys in bold
    const black = [1, 3, 6, 8, 10].includes(p % 12);
    g.fillStyle = black ? "#2b2f37" : "#d9dce2";
    g.fillRect(left, y(p), keys - 2, rowH - 0.5);
    if (rowH >= 9 || p % 12 === 0) {
      g.fillStyle = black ? "#c9ccd3" : "#23262d";
      g.font = `${p % 12 === 0 ? "bold " : ""}${Math.min(11, Math.max(8, rowH - 2))}px system-ui, sans-serif`;
      g.fillText(pitchName(p), left + 4, y(p) + rowH / 2 + 4);
    }
  }
  const player = $("player");
  if (player.src && player.duration > 0) {  // the playhead
    const beat = player.currentTime * tune.options.tempo / 60;
    g.strokeStyle = "#ffffff";
    g.lineWidth = 1.5;
    g.beginPath(); g.moveTo(x(beat), top); g.lineTo(x(beat), height); g.stroke();
    if (!player.paused && (x(beat) > wrap.scrollLeft + wrap.clientWidth - 40 || x(beat) < wrap.scrollLeft)) {
      wrap.scrollLeft = Math.max(x(beat) - 80, 0);  // keep the playhead in view
    }
  }
}

function animate() {
  drawRoll();
  if (!$("player").paused) requestAnimationFrame(animate);
}

function togglePlay() {
  const player = $("player");
  if (!player.src) return;
  if (player.paused) player.play().catch(() => {}); else { player.pause(); }
}

// --- runs ---------------------------------------------------------------------------------

async function loadRuns() {
  try {
    const answer = await api("/api/runs");
    $("runs-root").textContent = `in ${answer.root}`;
    const body = document.querySelector("#runs-table tbody");
    body.replaceChildren();
    if (!answer.runs.length) {
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 6;
      cell.textContent = "No runs yet: train one on the Train page (or with seqgan-music train).";
    }
    for (const run of answer.runs) {
      const row = body.insertRow();
      row.dataset.run = run.id;
      for (const text of [run.task, run.method, run.preset || "—", run.created.replace("T", " "), run.state, run.id]) {
        row.insertCell().textContent = text;
      }
      row.cells[4].className = `state-${run.state}`;
      row.addEventListener("click", () => showRun(run.id));
    }
  } catch (error) { say(error.message); }
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function showRun(id) {
  let run;
  try { run = await api(`/api/run?id=${encodeURIComponent(id)}`); } catch (error) { say(error.message); return; }
  const box = $("run-detail");
  box.hidden = false;
  box.replaceChildren();
  box.dataset.run = id;
  const head = element("h2", `${run.task} · ${run.method} · ${run.id}`);
  const line = element("p", "", "info");
  line.append(`started ${run.created.replace("T", " ")} · preset ${run.preset || "not recorded"} · `);
  line.append(element("span", run.state, `state-${run.state}`));
  box.append(head, line);
  if (run.resumable && run.state === "interrupted") {
    const resume = element("button", "Resume this run");
    resume.addEventListener("click", () => startTraining({ resume: run.id }));
    box.append(resume);
  }
  box.append(element("h2", "Figures"));
  if (run.figures && run.figures.figures) {
    box.append(figureTable(run.figures.figures, run.labels));
    box.append(element("p", `${run.figures.evaluation}${run.figures.data ? "; data: " + run.figures.data : ""}`, "info"));
  } else {
    box.append(element("p", run.state === "finished"
      ? "No figures recorded with this run (older version): seqgan-music evaluate --model RUN prints them."
      : "Figures appear when training finishes.", "info"));
  }
  box.append(element("h2", "Learning curves"));
  box.append(curves(run.metrics, run.labels));
  box.append(element("h2", "Samples"));
  const samples = element("div", undefined, "samples");
  if (!run.samples.length) samples.append(element("p", "No samples yet (written when training finishes).", "info"));
  for (const sample of run.samples) {
    samples.append(element("p", sample.name, "info"));
    if (sample.kind === "midi") {
      const audio = element("audio");
      audio.controls = true;
      audio.preload = "metadata";  // its length shows at once, not 0:00 until played
      audio.src = `/api/run/audio?id=${encodeURIComponent(id)}&name=${encodeURIComponent(sample.name)}`;
      samples.append(audio, element("span", "  the opening 40 s of the samples, back to back  ", "info"));
    } else if (run.samples.some((s) => s.kind === "midi")) {
      // a music run: the tunes are heard above; their token names fold away
      const more = element("details");
      more.append(element("summary", "token names"), element("pre", sample.lines.join("\n")));
      samples.append(more);
    } else {
      samples.append(element("pre", sample.lines.join("\n")));
    }
    const link = element("a", "download", "button");
    link.href = `/api/run/file?id=${encodeURIComponent(id)}&path=${encodeURIComponent("samples/" + sample.name)}`;
    samples.append(link);
  }
  box.append(samples);
  if (run.files.length) {
    box.append(element("h2", "Files"));
    const files = element("div", undefined, "actions");
    for (const name of run.files) {
      const link = element("a", name, "button");
      link.href = `/api/run/file?id=${encodeURIComponent(id)}&path=${encodeURIComponent(name)}`;
      files.append(link);
    }
    box.append(files);
  }
  if (run.log.length) { box.append(element("h2", "Training log (end)")); box.append(element("pre", run.log.join("\n"), "log")); }
}

function figureTable(figures, labels) {
  const keys = [...new Set(Object.values(figures).flatMap((row) => Object.keys(row)))];
  const table = element("table", undefined, "grid figures");
  const head = table.createTHead().insertRow();
  head.append(element("th", "model"));
  for (const key of keys) head.append(element("th", labels[key] || key, "num"));
  const body = table.createTBody();
  for (const [model, row] of Object.entries(figures)) {
    const tr = body.insertRow();
    tr.insertCell().textContent = model;
    for (const key of keys) {
      const cell = tr.insertCell();
      cell.className = "num";
      cell.textContent = key in row ? Number(row[key]).toFixed(4) : "";
    }
  }
  return table;
}

const CURVE_KEYS = ["g_loss", "d_loss", "d_accuracy", "reward", "nll_oracle", "nll_valid", "bleu4", "mse"];
const PHASE_COLOURS = { mle: "#6f9bd1", d_pretrain: "#b58be0", adversarial: "#f0913a", pg_bleu: "#6cc08b", scheduled_sampling: "#e0c36c" };

// Losses whose scale differs by phase (MLE's NLL ~2, REINFORCE's sum ~1,000) get one panel per
// phase, each with its own axis; the other metrics share one panel across phases.
const SPLIT_BY_PHASE = new Set(["g_loss"]);
const PHASE_NAMES = { mle: "MLE pre-training", d_pretrain: "D pre-training", adversarial: "adversarial",
  pg_bleu: "PG-BLEU", scheduled_sampling: "scheduled sampling" };

function curves(records, labels) {
  const box = element("div", undefined, "curves");
  let drawn = 0;
  for (const key of CURVE_KEYS) {
    // x: the record's place in metrics.jsonl (epochs repeat within D pre-training)
    const points = records.map((r, i) => ({ x: i, y: r[key], phase: r.phase }))
      .filter((p) => typeof p.y === "number" && isFinite(p.y));
    if (points.length < 1) continue;
    const phases = [...new Set(points.map((p) => p.phase))];
    const groups = SPLIT_BY_PHASE.has(key) && phases.length > 1
      ? phases.map((phase) => [points.filter((p) => p.phase === phase), ` — ${PHASE_NAMES[phase] || phase}`])
      : [[points, ""]];
    for (const [mine, suffix] of groups) {
      box.append(curvePanel(key, mine, `${labels[key] || key}${suffix}`, !suffix));
      drawn += 1;
    }
  }
  if (!drawn) box.append(element("p", "No metrics logged yet.", "info"));
  return box;
}

function curvePanel(key, points, title, namePhases = true) {
  const svgNS = "http://www.w3.org/2000/svg";
  const W = 280, H = 140, left = 44, bottom = 30;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const px = (v) => left + (v - x0) / (x1 - x0) * (W - left - 8);
  const py = (v) => H - bottom - (v - y0) / (y1 - y0) * (H - bottom - 10);
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  svg.setAttribute("data-key", key);
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  add("line", { x1: left, y1: H - bottom, x2: W - 8, y2: H - bottom, stroke: "#4a505c" });
  add("line", { x1: left, y1: 10, x2: left, y2: H - bottom, stroke: "#4a505c" });
  add("text", { x: left - 4, y: 14, fill: "#9aa1ad", "font-size": 10, "text-anchor": "end" }, Number(y1.toPrecision(4)).toString());
  add("text", { x: left - 4, y: H - bottom, fill: "#9aa1ad", "font-size": 10, "text-anchor": "end" }, Number(y0.toPrecision(4)).toString());
  add("text", { x: left, y: H - bottom + 12, fill: "#9aa1ad", "font-size": 10 }, String(x0));
  add("text", { x: W - 8, y: H - bottom + 12, fill: "#9aa1ad", "font-size": 10, "text-anchor": "end" }, String(x1));
  add("text", { x: (left + W) / 2, y: H - 4, fill: "#9aa1ad", "font-size": 10, "text-anchor": "middle", class: "axis-label" }, "logged step (metrics.jsonl line)");
  add("text", { x: 10, y: (H - bottom) / 2, fill: "#9aa1ad", "font-size": 10, "text-anchor": "middle", class: "axis-label",
    transform: `rotate(-90 10 ${(H - bottom) / 2})` }, key);
  const phases = [...new Set(points.map((p) => p.phase))];
  for (const phase of phases) {  // one polyline per phase, in the phase's colour
    const mine = points.filter((p) => p.phase === phase);
    add("polyline", { points: mine.map((p) => `${px(p.x)},${py(p.y)}`).join(" "), fill: "none",
      stroke: PHASE_COLOURS[phase] || "#e6e8ec", "stroke-width": 1.6 });
    if (mine.length === 1) add("circle", { cx: px(mine[0].x), cy: py(mine[0].y), r: 2.5, fill: PHASE_COLOURS[phase] || "#e6e8ec" });
  }
  const card = element("div", undefined, "curve");
  const named = namePhases ? `  (${phases.map((p) => PHASE_NAMES[p] || p).join(", ")})` : "";
  card.append(element("div", `${title}${named}`, "title"), svg);
  return card;
}

// --- train --------------------------------------------------------------------------------

async function loadTasks() {
  const answer = await api("/api/tasks");
  state.tasks = answer.tasks;
  const task = $("train-task");
  task.replaceChildren(...answer.tasks.map((t) => new Option(`${t.name} — ${t.data}`, t.name)));
  // Start with what Compose plays: the default model's task and preset (its model card).
  state.trainDefaults = answer.defaults || { task: "nottingham", preset: "quick" };
  if (answer.tasks.some((t) => t.name === state.trainDefaults.task)) task.value = state.trainDefaults.task;
  $("train-method").replaceChildren(...answer.methods.map((m) => new Option(m, m)));
  if (answer.methods.includes("seqgan")) $("train-method").value = "seqgan";
  pickTask();
}

async function loadResumable() {
  const box = $("resumable");
  try {
    const runs = (await api("/api/runs")).runs.filter((r) => r.state === "interrupted" && r.model);
    box.replaceChildren();
    if (!runs.length) box.append(element("p", "none", "info"));
    for (const run of runs) {
      const button = element("button", `Resume ${run.id} (${run.method})`, "small");
      button.type = "button";
      button.addEventListener("click", () => startTraining({ resume: run.id }));
      box.append(button);
    }
  } catch (error) { say(error.message); }
}

function pickTask() {
  const task = state.tasks.find((t) => t.name === $("train-task").value);
  if (!task) return;
  $("task-info").textContent = `${task.summary}. Data: ${task.data}. Source: ${task.source}`;
  const preset = $("train-preset");
  preset.replaceChildren(...task.presets.map((p) => new Option(p, p)));
  const wanted = state.trainDefaults && state.trainDefaults.task === task.name ? state.trainDefaults.preset : "quick";
  preset.value = task.presets.includes(wanted) ? wanted : task.presets.includes("quick") ? "quick" : task.presets[0];
}

async function startTraining(extra) {
  const request = extra || {
    task: $("train-task").value, preset: $("train-preset").value, method: $("train-method").value,
    data: $("train-data").value, seed: $("train-seed").value,
  };
  try {
    const status = await post("/api/train", request);
    showTab("train");
    showProgress(status);
    follow();
  } catch (error) { say(error.message); watchRefusal(error.message); }
}

// A refusal ("run ... is training in another process") holds only while that run trains:
// look again every few seconds and take the message down once training may start.
function watchRefusal(message) {
  if (state.refusalTimer) clearInterval(state.refusalTimer);
  state.refusalTimer = setInterval(async () => {
    let status;
    try { status = await api("/api/train/status"); } catch (error) { return; }
    if (status.state === "running" || status.busy) return;
    clearInterval(state.refusalTimer);
    state.refusalTimer = null;
    if ($("message").textContent === message) say("");
    showProgress(status);
  }, 3000);
}

function showProgress(status) {
  const badge = $("train-badge");
  const running = status.state === "running";
  badge.hidden = !running;
  badge.textContent = running ? `training ${status.task}: ${status.phase || "starting"} ${status.done}/${status.total}` : "";
  $("train-start").disabled = running;
  $("train-cancel").disabled = !running;
  const line = $("train-state");
  if (status.state === "idle") {
    line.textContent = status.busy || "No training started from this studio.";
    return;
  }
  const where = status.run ? ` in ${status.run}` : "";
  const phase = running && status.phase ? ` — ${status.phase} ${status.done}/${status.total}` : "";
  const took = running ? `${Math.round(status.elapsed)} s so far` : `took ${Math.round(status.elapsed)} s`;
  line.textContent = `${status.state}: ${status.task}, preset ${status.preset}, ${status.method}${where}${phase} (${took})`;
  line.className = `state-line state-${status.state}`;
  line.dataset.state = status.state;
  $("train-bar").style.width = `${status.total ? Math.round(100 * status.done / status.total) : 0}%`;
  $("train-figures").textContent = status.figures || "";
  $("train-log").textContent = status.log.join("\n");
  $("train-log").hidden = !status.log.length;
  $("train-log").scrollTop = 1e9;
  if (status.error) say(status.error);
  const link = $("train-run-link");
  link.hidden = !status.run || running;
  link.onclick = (event) => { event.preventDefault(); showTab("runs"); showRun(status.run); };
}

function follow() {
  if (state.source) state.source.close();
  const source = new EventSource("/api/train/events");
  state.source = source;
  source.onmessage = (event) => showProgress(JSON.parse(event.data));
  source.addEventListener("done", () => {
    source.close();
    state.source = null;
    loadModels();
    if ($("runs").classList.contains("active")) loadRuns();
    loadResumable();
  });
  source.onerror = () => { source.close(); state.source = null; };
}

// --- wiring -------------------------------------------------------------------------------

function wire() {
  document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => showTab(t.dataset.tab)));
  $("temperature").addEventListener("input", () => { $("temperature-out").textContent = Number($("temperature").value).toFixed(2); });
  $("dice").addEventListener("click", () => { $("seed").value = Math.floor(Math.random() * 1e6); });
  $("compose-form").addEventListener("submit", (event) => { event.preventDefault(); compose(composeRequest()); });
  $("continue").addEventListener("click", () => {
    if (!state.current) return;
    compose({ ...composeRequest(), primer: `tune:${state.current.id}` });
  });
  $("vary").addEventListener("click", () => {
    if (!state.current) return;
    const seed = Math.floor(Math.random() * 1e6);
    $("seed").value = seed;
    compose({ ...state.current.options, seed, num: 1 });
  });
  $("model-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      const answer = await upload(file, "model");
      await loadModels(`upload:${answer.id}`);
      say(`model ${answer.name} uploaded`, "note");
    } catch (error) { say(error.message); }
    event.target.value = "";
  });
  $("primer-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      const answer = await upload(file, "primer");
      state.primers = [...(state.primers || []), answer];
      refreshPrimers();
      $("primer").value = `upload:${answer.id}`;
      say(`primer ${answer.name} uploaded: the next tune continues it`, "note");
    } catch (error) { say(error.message); }
    event.target.value = "";
  });
  const player = $("player");
  player.addEventListener("play", () => requestAnimationFrame(animate));
  player.addEventListener("pause", drawRoll);
  player.addEventListener("ended", drawRoll);
  document.addEventListener("keydown", (event) => {
    const tag = event.target.tagName;
    if (event.code !== "Space" || ["INPUT", "SELECT", "TEXTAREA", "BUTTON", "AUDIO"].includes(tag)) return;
    event.preventDefault();
    togglePlay();
  });
  $("train-task").addEventListener("change", pickTask);
  $("train-form").addEventListener("submit", (event) => { event.preventDefault(); startTraining(); });
  $("train-cancel").addEventListener("click", async () => {
    try { showProgress(await post("/api/train/cancel", {})); } catch (error) { say(error.message); }
  });
  window.addEventListener("resize", drawRoll);
  $("roll").parentElement.addEventListener("scroll", () => requestAnimationFrame(drawRoll));
}

async function start() {
  wire();
  drawRoll();
  try {
    await Promise.all([loadModels(), loadTasks()]);
    const status = await api("/api/train/status");
    showProgress(status);
    if (status.state === "running") follow();
  } catch (error) { say(error.message); }
}

start();
