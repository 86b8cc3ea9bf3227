/* Living Memory transcript editor: audio beside the transcript, driven by the keyboard.
 *
 * Lines come from the page (#lines-data), are edited here and saved as JSON to the
 * workspace, which stores them as a human transcript with revisions (review --apply).
 * Until then every change is autosaved as a draft (…/draft) every few seconds and when the
 * tab is hidden or closed, so a reload loses at most a few seconds; a draft is not a
 * revision. Every action has a key, chosen per volunteer (#editor-config, /-/workspace/
 * settings). Every value is put into the page with textContent/value, never as HTML.
 *
 * Other panels may hook in through window.LMEditor (seek, current time, lines, onTime).
 */
(function () {
  "use strict";
  const root = document.getElementById("editor");
  if (!root) return;
  const audio = document.getElementById("audio");
  const list = document.getElementById("lines");
  const status = document.getElementById("status");
  const autosaveLine = document.getElementById("autosave");
  const presenceBox = document.getElementById("presence");
  const rateLabel = document.getElementById("rate");
  const reviewedCount = document.getElementById("reviewed-count");
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const RATES = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
  const AUTOSAVE_MS = 3000;
  const ALIVE_MS = 10000;
  const FLAG_NAMES = {
    low_confidence: "nizka zanesljivost",
    maybe_no_speech: "morda brez govora",
    repetitive: "ponavljanje",
    repeated_segment: "ponovljena vrstica",
    stock_phrase: "izmišljena fraza?",
    language_drift: "drug jezik/pisava",
    high_temperature: "negotovo",
    prompt_echo: "ponovljen poziv",
  };
  const byKey = {};
  Object.keys(config.keys).forEach(function (action) { byKey[config.keys[action]] = action; });

  let lines = JSON.parse(document.getElementById("lines-data").textContent);
  let base = config.base;
  let redactions = config.redactions || [];
  let active = 0;
  let playing = -1;
  let dirty = false;        // changed since the last save
  let unsent = false;       // changed since the last autosave
  let resumed = false;      // the audio has played before (rewind on resume)
  const timeListeners = [];

  // -- words -----------------------------------------------------------------------------

  /* Slovenian number forms: 1 vrstica, 2 vrstici, 3 vrstice, 5 vrstic (as the server's
   * workspace_messages.plural). */
  function plural(n, one, two, few, many) {
    const last = Math.abs(n) % 100;
    return n + " " + (last === 1 ? one : last === 2 ? two : last === 3 || last === 4 ? few : many);
  }

  function fmt(seconds) {
    const tenths = Math.max(0, Math.round(seconds * 10));
    const s = Math.floor(tenths / 10);
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0") +
      "," + (tenths % 10);
  }

  /* "1:02,5", "62.5", "01:02" -> seconds; NaN when it is no time. */
  function parseTime(text) {
    const clean = String(text).trim().replace(",", ".");
    if (!/^(\d+:)?(\d+:)?\d+(\.\d+)?$/.test(clean)) return NaN;
    return clean.split(":").reduce(function (sum, part) { return sum * 60 + parseFloat(part); }, 0);
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function markDirty() {
    dirty = true;
    unsent = true;
    say("Neshranjene spremembe (osnutek se shranjuje sproti) · unsaved changes, autosaved", "warn");
  }

  function isSuspect(line) {
    return (line.flags || []).length > 0;
  }

  function isRedacted(line) {
    return redactions.some(function (span) { return line.start < span[1] && span[0] < line.end; });
  }

  function grow(area) {
    area.style.height = "auto";
    area.style.height = area.scrollHeight + 2 + "px";
  }

  // -- the lines ---------------------------------------------------------------------------

  function timeInput(line, field, label) {
    const input = document.createElement("input");
    input.className = "t";
    input.inputMode = "decimal";
    input.value = fmt(line[field]);
    input.setAttribute("aria-label", label);
    input.addEventListener("change", function () {
      const value = parseTime(input.value);
      const other = field === "start" ? line.end : line.start;
      const ok = !isNaN(value) && (field === "start" ? value < other : value > other);
      if (!ok) {
        say("Čas ni veljaven: začetek mora biti pred koncem (npr. 1:02,5) · not a valid time", "error");
        input.value = fmt(line[field]);
        return;
      }
      line[field] = Math.round(value * 1000) / 1000;
      input.value = fmt(line[field]);
      markDirty();
    });
    return input;
  }

  function render(focusIndex, caret) {
    list.textContent = "";
    lines.forEach(function (line, index) {
      if (line.original === undefined) line.original = line.text;
      const row = document.createElement("div");
      row.className = "line";
      if (isSuspect(line)) row.classList.add("suspect");
      if (line.reviewed) row.classList.add("reviewed");
      if (isRedacted(line)) row.classList.add("redacted");
      if (index === playing) row.classList.add("current");
      row.dataset.index = index;

      const play = document.createElement("button");
      play.type = "button";
      play.className = "time";
      play.textContent = "▶";
      play.title = "Predvajaj to vrstico / play this line";
      play.setAttribute("aria-label", "Predvajaj vrstico od " + fmt(line.start) + " / play this line");
      play.tabIndex = -1;
      play.addEventListener("click", function () { active = index; playLine(); });

      const speaker = document.createElement("input");
      speaker.className = "speaker";
      speaker.value = line.speaker || "";
      speaker.placeholder = "govorec";
      speaker.setAttribute("list", "speakers");
      speaker.setAttribute("aria-label", "Govorec / speaker");
      speaker.addEventListener("input", function () {
        line.speaker = speaker.value;
        markDirty();
      });

      const text = document.createElement("textarea");
      text.className = "text";
      text.rows = 1;
      text.value = line.text;
      text.setAttribute("aria-label", "Besedilo od " + fmt(line.start) + " / text");
      if (index === 0) text.id = "first-line";
      text.addEventListener("input", function () {
        line.text = text.value;
        grow(text);
        markDirty();
      });
      const focusables = [speaker, text];

      const times = document.createElement("span");
      times.className = "times";
      const start = timeInput(line, "start", "Začetek / start");
      const end = timeInput(line, "end", "Konec / end");
      times.append(start, document.createTextNode("–"), end);
      focusables.push(start, end);
      focusables.forEach(function (el) {
        el.addEventListener("focus", function () {
          active = index;
          list.querySelectorAll(".line.active").forEach(function (r) { r.classList.remove("active"); });
          row.classList.add("active");
        });
      });

      const flags = document.createElement("span");
      flags.className = "flags";
      const notes = [];
      if (isSuspect(line)) notes.push("⚠ " + line.flags.map(function (f) { return FLAG_NAMES[f] || f; }).join(", "));
      if (isRedacted(line)) notes.push("izločeno iz objave");
      if (line.overlap) notes.push("⇄ hkrati govori še nekdo");
      flags.textContent = notes.join(" · ");
      if (notes.length) {
        // The notes sit after the text and are never focused: a screen reader announces
        // them with the text (suspect, withheld, someone else speaking at the same time).
        flags.id = "line-notes-" + index;
        text.setAttribute("aria-describedby", flags.id);
      }

      const reviewed = document.createElement("label");
      reviewed.className = "rev";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !!line.reviewed;
      box.addEventListener("change", function () {
        line.reviewed = box.checked;
        row.classList.toggle("reviewed", box.checked);
        markDirty();
        count();
      });
      reviewed.append(box, document.createTextNode(" pregledano"));

      const head = document.createElement("div");
      head.className = "head";
      head.append(play, times, speaker, flags, reviewed);
      const words = document.createElement("div");
      words.className = "words";
      words.setAttribute("aria-hidden", "true");
      // The text first in the tab order: a volunteer tabs from text to text.
      row.append(text, head, words);
      list.append(row);
    });
    list.querySelectorAll("textarea").forEach(grow);
    count();
    voices();
    if (focusIndex !== undefined) focusLine(focusIndex, caret);
    drawWave();
  }

  function count() {
    const done = lines.filter(function (l) { return l.reviewed; }).length;
    const suspect = lines.filter(function (l) { return isSuspect(l) && !l.reviewed; }).length;
    reviewedCount.textContent = "Pregledano: " + done + " od " + lines.length + " · " +
      plural(suspect, "sumljiva vrstica", "sumljivi vrstici", "sumljive vrstice", "sumljivih vrstic") +
      " · reviewed, suspect";
  }

  function rowOf(index) {
    return list.querySelector('.line[data-index="' + index + '"]');
  }

  function textArea(index) {
    const row = rowOf(index);
    return row ? row.querySelector("textarea") : null;
  }

  function focusLine(index, caret) {
    index = Math.max(0, Math.min(lines.length - 1, index));
    const area = textArea(index);
    if (!area) return;
    area.focus();
    const at = caret === undefined ? area.value.length : caret;
    area.setSelectionRange(at, at);
    area.closest(".line").scrollIntoView({ block: "nearest" });
    active = index;
  }

  function split() {
    const area = textArea(active);
    if (!area) return;
    const line = lines[active];
    const at = area.selectionStart;
    const before = area.value.slice(0, at).trim();
    const after = area.value.slice(at).trim();
    if (!before || !after) {
      say("Postavite kazalec sredi besedila · put the cursor inside the text", "warn");
      return;
    }
    const share = at / Math.max(1, area.value.length);
    const middle = Math.round((line.start + (line.end - line.start) * share) * 1000) / 1000;
    const second = { id: null, start: middle, end: line.end, speaker: line.speaker,
      text: after, flags: line.flags, reviewed: false, words: line.words, overlap: line.overlap };
    line.text = before;
    line.end = middle;
    lines.splice(active + 1, 0, second);
    markDirty();
    render(active + 1, 0);
  }

  function merge() {
    if (active >= lines.length - 1) return;
    const line = lines[active];
    const next = lines[active + 1];
    const caret = line.text.length + 1;
    line.text = (line.text + " " + next.text).trim();
    line.end = Math.max(line.end, next.end);
    line.flags = (line.flags || []).concat(next.flags || []).filter(function (f, i, all) {
      return all.indexOf(f) === i;
    });
    line.words = (line.words || []).concat(next.words || []);
    line.overlap = !!(line.overlap || next.overlap);
    line.original = (line.original || "") + " " + (next.original || "");
    line.reviewed = false;
    lines.splice(active + 1, 1);
    markDirty();
    render(active, caret);
  }

  function toggleReviewed() {
    const line = lines[active];
    if (!line) return;
    line.reviewed = !line.reviewed;
    markDirty();
    render(Math.min(active + 1, lines.length - 1));
  }

  function nextSuspect() {
    for (let step = 1; step <= lines.length; step++) {
      const index = (active + step) % lines.length;
      if (isSuspect(lines[index]) && !lines[index].reviewed) {
        focusLine(index);
        audio.currentTime = lines[index].start;
        return;
      }
    }
    say("Ni več sumljivih vrstic · no suspect lines left", "ok");
  }

  // -- playback ----------------------------------------------------------------------------

  function setRate(rate) {
    audio.playbackRate = rate;
    rateLabel.textContent = String(rate).replace(".", ",") + "×";
  }

  function slower() {
    const i = RATES.indexOf(audio.playbackRate);
    setRate(RATES[Math.max(0, (i < 0 ? RATES.indexOf(1) : i) - 1)]);
  }

  function faster() {
    const i = RATES.indexOf(audio.playbackRate);
    setRate(RATES[Math.min(RATES.length - 1, (i < 0 ? RATES.indexOf(1) : i) + 1)]);
  }

  let stopAt = null;

  function toggle() {
    stopAt = null;
    if (audio.paused) {
      // Rewind a little on resume (as oTranscribe does): the last words are heard again.
      if (resumed) audio.currentTime = Math.max(0, audio.currentTime - config.rewind);
      audio.play();
    } else {
      audio.pause();
    }
  }

  function skip(seconds) {
    audio.currentTime = Math.max(0, Math.min(audio.duration || Infinity, audio.currentTime + seconds));
  }

  function playLine() {
    const line = lines[active];
    if (!line) return;
    audio.currentTime = line.start;
    stopAt = line.end;
    audio.play();
  }

  function setTime(field, value) {
    const line = lines[active];
    if (!line) return;
    value = Math.round(Math.max(0, value) * 1000) / 1000;
    if (field === "start" ? value >= line.end : value <= line.start) {
      say("Začetek mora biti pred koncem · the start must come before the end", "error");
      return;
    }
    line[field] = value;
    const input = rowOf(active).querySelectorAll("input.t")[field === "start" ? 0 : 1];
    input.value = fmt(value);
    markDirty();
    say((field === "start" ? "Začetek" : "Konec") + " vrstice: " + fmt(value) +
      (field === "start" ? " · start" : " · end"), "ok");
  }

  function nudge(field, delta) {
    const line = lines[active];
    if (line) setTime(field, line[field] + delta);
  }

  // -- saving and drafts -------------------------------------------------------------------

  function payloadLines() {
    return lines.map(function (l) {
      // flags, words, the overlap mark and the text heard come back with a draft (the server
      // ignores them: a saved line keeps the overlap mark of the segment it corrects).
      return { id: l.id, start: l.start, end: l.end, speaker: l.speaker, text: l.text,
        reviewed: !!l.reviewed, flags: l.flags || [], words: l.words || [], original: l.original,
        overlap: !!l.overlap };
    });
  }

  function post(url, body, keepalive) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "content-type": "application/json", "x-csrftoken": root.dataset.csrftoken },
      body: JSON.stringify(body),
    });
  }

  async function save() {
    say("Shranjujem … · saving …");
    try {
      const response = await post(root.dataset.save, { lines: payloadLines(), base: base });
      const data = await response.json();
      if (!response.ok || !data.ok) {
        say("Ni shranjeno: " + (data.error || response.status) +
          (data.error_en ? " · " + data.error_en : ""), "error");
        return;
      }
      lines = data.lines_data;
      base = data.base;
      dirty = unsent = false;
      let text = "Shranjeno: " + plural(data.changed, "spremenjena vrstica", "spremenjeni vrstici",
        "spremenjene vrstice", "spremenjenih vrstic");
      if (data.deleted) {
        text += ", " + plural(data.deleted, "združena ali izbrisana", "združeni ali izbrisani",
          "združene ali izbrisane", "združenih ali izbrisanih");
      }
      say(text + " · saved", "ok");
      autosaveLine.textContent = "";
      render(Math.min(active, lines.length - 1));
    } catch (error) {
      say("Ni shranjeno: strežnik se ne odziva; osnutek ostane na tej strani · not saved, no answer", "error");
    }
  }

  function showPresence(data) {
    const parts = [];
    if (data.editing && data.editing.length) {
      parts.push("Ta prepis hkrati ureja tudi " + data.editing.join(", ") +
        ". Ko kdo shrani, vas opozorimo, preden bi karkoli prepisali. · Also editing now: " +
        data.editing.join(", ") + ".");
    }
    if (data.changed) {
      parts.push("Medtem je nekdo shranil novo različico prepisa; vaše spremembe so v osnutku. " +
        "Naložite stran znova in izberite, kaj obdržite. · Someone saved a newer version meanwhile.");
    }
    presenceBox.hidden = parts.length === 0;
    presenceBox.textContent = parts.join(" ");
  }

  async function autosave(final) {
    const body = { base: base, lines: unsent ? payloadLines() : null };
    const sending = unsent;
    unsent = false;
    try {
      const response = await post(root.dataset.draft, body, final);
      if (final) return;
      const data = await response.json();
      if (!response.ok || !data.ok) throw new Error(data.error || response.status);
      if (sending) {
        autosaveLine.textContent = "Osnutek shranjen ob " + new Date().toLocaleTimeString("sl-SI") +
          " (še ni shranjen kot popravek) · draft kept, not yet saved";
      }
      showPresence(data);
    } catch (error) {
      if (sending) unsent = true;
      if (!final) autosaveLine.textContent = "Osnutka ni bilo mogoče shraniti; poskusim znova · draft not kept, retrying";
    }
  }

  function leaving() {
    if (unsent) autosave(true);
  }

  function offerDraft() {
    const draft = config.draft;
    if (!draft) return;
    // As volunteers write a date: 7. 12. 2026 05:31 (the server keeps UTC).
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})/.exec(draft.updated_at || "");
    const when = m ? Number(m[3]) + ". " + Number(m[2]) + ". " + m[1] + " " + m[4] : "";
    if (draft.base === base) {
      lines = draft.lines;
      dirty = true;
      say("Obnovljene neshranjene spremembe z dne " + when + " UTC · unsaved changes restored", "warn");
      return;
    }
    const box = document.getElementById("draft-choice");
    document.getElementById("draft-text").textContent = "Imate neshranjene spremembe z dne " +
      when + " UTC, narejene na starejši različici prepisa (medtem jo je nekdo shranil). " +
      "Uporabite osnutek (nadomesti novejšo različico, ko shranite) ali ga zavrzite. · " +
      "You have unsaved changes made on an older version.";
    box.hidden = false;
  }

  function useDraft() {
    lines = config.draft.lines;
    document.getElementById("draft-choice").hidden = true;
    markDirty();
    render(0);
  }

  async function discardDraft() {
    document.getElementById("draft-choice").hidden = true;
    config.draft = null;
    await post(root.dataset.draft, { discard: true, base: base });
    say("Osnutek zavržen · draft discarded", "ok");
  }

  // -- find and replace, voices, redaction -------------------------------------------------

  function finder() {
    const needle = document.getElementById("find-text").value;
    if (!needle) return null;
    const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const words = document.getElementById("find-words").checked;
    const flags = document.getElementById("find-case").checked ? "gu" : "giu";
    const pattern = words ? "(?<![\\p{L}\\p{N}])" + escaped + "(?![\\p{L}\\p{N}])" : escaped;
    return new RegExp(pattern, flags);
  }

  function preview() {
    const out = document.getElementById("find-preview");
    const label = document.getElementById("find-count");
    out.textContent = "";
    const regex = finder();
    if (!regex) { label.textContent = ""; return { hits: 0, lines: 0 }; }
    const replacement = document.getElementById("replace-text").value;
    let hits = 0;
    let touched = 0;
    lines.forEach(function (line, index) {
      const found = line.text.match(regex);
      if (!found) return;
      hits += found.length;
      touched += 1;
      if (touched > 30) return;
      const item = document.createElement("li");
      const del = document.createElement("del");
      del.textContent = line.text;
      const ins = document.createElement("ins");
      ins.textContent = line.text.replace(regex, function () { return replacement; });
      const at = document.createElement("span");
      at.className = "small";
      at.textContent = fmt(line.start) + " ";
      item.append(at, del, document.createTextNode(" → "), ins);
      item.dataset.index = index;
      out.append(item);
    });
    label.textContent = "Najdeno: " + plural(hits, "zadetek", "zadetka", "zadetki", "zadetkov") +
      " v " + plural(touched, "vrstici", "vrsticah", "vrsticah", "vrsticah") +
      (touched > 30 ? " (prikazanih prvih 30)" : "") + " · found " + hits;
    return { hits: hits, lines: touched };
  }

  function replaceAll() {
    const regex = finder();
    if (!regex) return;
    const replacement = document.getElementById("replace-text").value;
    const found = preview();
    if (!found.hits) return;
    lines.forEach(function (line) {
      line.text = line.text.replace(regex, function () { return replacement; });
    });
    markDirty();
    render();
    document.getElementById("find-preview").textContent = "";
    document.getElementById("find-count").textContent = "Zamenjano: " +
      plural(found.hits, "zadetek", "zadetka", "zadetki", "zadetkov") + " · replaced " + found.hits;
  }

  function openFind() {
    const tool = document.getElementById("find-tool");
    tool.open = true;
    const area = textArea(active);
    const field = document.getElementById("find-text");
    if (area && area.selectionStart !== area.selectionEnd) {
      field.value = area.value.slice(area.selectionStart, area.selectionEnd);
    }
    field.focus();
    field.select();
    preview();
  }

  function voices() {
    const select = document.getElementById("voice-from");
    const current = select.value;
    const names = [];
    lines.forEach(function (l) { if (names.indexOf(l.speaker || "") < 0) names.push(l.speaker || ""); });
    select.textContent = "";
    names.forEach(function (name) {
      const option = document.createElement("option");
      option.value = name;
      const n = lines.filter(function (l) { return (l.speaker || "") === name; }).length;
      option.textContent = (name || "(brez imena)") + " – " + plural(n, "vrstica", "vrstici", "vrstice", "vrstic");
      select.append(option);
    });
    if (names.indexOf(current) >= 0) select.value = current;
  }

  function openVoice() {
    document.getElementById("voice-tool").open = true;
    const line = lines[active];
    const select = document.getElementById("voice-from");
    if (line) select.value = line.speaker || "";
    select.focus();
  }

  function renameVoice() {
    const from = document.getElementById("voice-from").value;
    const to = document.getElementById("voice-to").value.trim();
    const result = document.getElementById("voice-result");
    if (!to) { result.textContent = "Vpišite novo ime · write the new name"; return; }
    let n = 0;
    lines.forEach(function (l) { if ((l.speaker || "") === from) { l.speaker = to; n += 1; } });
    markDirty();
    render();
    result.textContent = "Preimenovano v " + plural(n, "vrstici", "vrsticah", "vrsticah", "vrsticah") +
      " · renamed in " + n + " line(s)";
  }

  function showRedactions() {
    const out = document.getElementById("redactions");
    out.textContent = "";
    redactions.forEach(function (span) {
      const item = document.createElement("li");
      item.textContent = fmt(span[0]) + " – " + fmt(span[1]);
      out.append(item);
    });
  }

  function openRedact() {
    const tool = document.getElementById("redact-tool");
    tool.open = true;
    const line = lines[active];
    if (line) {
      document.getElementById("redact-start").value = fmt(line.start);
      document.getElementById("redact-end").value = fmt(line.end);
    }
    document.getElementById("redact-start").focus();
  }

  async function redactPassage() {
    const start = parseTime(document.getElementById("redact-start").value);
    const end = parseTime(document.getElementById("redact-end").value);
    const result = document.getElementById("redact-result");
    if (isNaN(start) || isNaN(end) || start >= end) {
      result.textContent = "Vpišite začetek in konec odlomka, npr. 1:02,5 in 1:10 · write start and end";
      return;
    }
    const response = await post(root.dataset.redact, { start: start, end: end,
      reason: document.getElementById("redact-reason").value });
    const data = await response.json();
    if (!response.ok || !data.ok) {
      result.textContent = data.error + (data.error_en ? " · " + data.error_en : "");
      return;
    }
    redactions = data.redactions;
    result.textContent = "Odlomek " + fmt(start) + "–" + fmt(end) +
      " bo izločen ob naslednji objavi · withheld from the next publish";
    showRedactions();
    render();
  }

  // -- keys --------------------------------------------------------------------------------

  /* The key as the settings spell it: Ctrl+Alt+Shift+ then M, 1, F2, Enter, ArrowUp. */
  function combo(event) {
    let key = event.key === " " ? "Space" : event.key;
    if (/^Key[A-Z]$/.test(event.code)) key = event.code.slice(3);
    else if (/^Digit\d$/.test(event.code)) key = event.code.slice(5);
    else if (key.length === 1) key = key.toUpperCase();
    if (key === "Esc") key = "Escape";
    return (event.ctrlKey || event.metaKey ? "Ctrl+" : "") + (event.altKey ? "Alt+" : "") +
      (event.shiftKey ? "Shift+" : "") + key;
  }

  const ACTIONS = {
    toggle: toggle,
    back: function () { skip(-config.skip); },
    forward: function () { skip(config.skip); },
    slower: slower,
    faster: faster,
    play_line: playLine,
    set_start: function () { setTime("start", audio.currentTime); },
    set_end: function () { setTime("end", audio.currentTime); },
    start_earlier: function () { nudge("start", -0.1); },
    start_later: function () { nudge("start", 0.1); },
    end_earlier: function () { nudge("end", -0.1); },
    end_later: function () { nudge("end", 0.1); },
    suspect: nextSuspect,
    previous: function () { focusLine(active - 1); },
    next: function () { focusLine(active + 1); },
    split: split,
    merge: merge,
    reviewed: toggleReviewed,
    find: openFind,
    redact: openRedact,
    voice: openVoice,
    save: save,
    // The index panel (index.js) opens its form from its own button.
    index_add: function () {
      const add = document.querySelector('[data-ix="add"]');
      if (add) add.click();
    },
    replace_all: replaceAll,
    rename_voice: renameVoice,
    redact_passage: redactPassage,
    use_draft: useDraft,
    discard_draft: discardDraft,
  };

  root.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () { ACTIONS[button.dataset.action](); });
  });
  ["find-text", "replace-text", "find-case", "find-words"].forEach(function (id) {
    document.getElementById(id).addEventListener("input", preview);
  });
  document.getElementById("find-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); replaceAll(); }
  });
  document.getElementById("replace-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); replaceAll(); }
  });
  document.getElementById("voice-to").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); renameVoice(); }
  });

  document.addEventListener("keydown", function (event) {
    const action = byKey[combo(event)];
    if (!action) return;
    // Escape inside an open tool closes nothing else: it still plays and pauses.
    event.preventDefault();
    ACTIONS[action]();
  }, true);

  // -- time --------------------------------------------------------------------------------

  function drawWave() {
    if (window.LMWaveform) {
      window.LMWaveform.draw({ time: audio.currentTime, lines: lines, line: lines[playing] || lines[active],
        redactions: redactions });
    }
  }

  function showWords(index, t) {
    list.querySelectorAll(".words.on").forEach(function (w) { w.classList.remove("on"); w.textContent = ""; });
    const line = lines[index];
    const row = rowOf(index);
    if (!line || !row || !line.words || !line.words.length || line.text !== line.original) return;
    const box = row.querySelector(".words");
    box.classList.add("on");
    line.words.forEach(function (w) {
      const span = document.createElement("span");
      span.textContent = w[2] + " ";
      if (w[0] <= t && t < w[1]) span.className = "now";
      box.append(span);
    });
  }

  audio.addEventListener("play", function () { resumed = true; });
  audio.addEventListener("timeupdate", function () {
    const t = audio.currentTime;
    if (stopAt !== null && t >= stopAt) { audio.pause(); stopAt = null; }
    let index = -1;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].start <= t + 0.05 && t < lines[i].end) { index = i; break; }
    }
    if (index !== playing) {
      const old = list.querySelector(".line.current");
      if (old) old.classList.remove("current");
      playing = index;
      const row = rowOf(index);
      if (row) {
        row.classList.add("current");
        if (!row.contains(document.activeElement)) row.scrollIntoView({ block: "nearest" });
      }
    }
    showWords(playing, t);
    drawWave();
    timeListeners.forEach(function (listener) { listener(t); });
  });

  window.addEventListener("beforeunload", function (event) {
    leaving();
    if (unsent) { event.preventDefault(); event.returnValue = ""; }
  });
  window.addEventListener("pagehide", leaving);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leaving();
  });
  setInterval(function () { if (unsent) autosave(false); }, AUTOSAVE_MS);
  setInterval(function () { if (!unsent) autosave(false); }, ALIVE_MS);

  window.LMEditor = {
    seek: function (t) { audio.currentTime = t; },
    time: function () { return audio.currentTime; },
    lines: function () { return lines; },
    onTime: function (listener) { timeListeners.push(listener); },
  };

  offerDraft();
  showPresence(config.presence || {});
  showRedactions();
  render(0, 0);  // the first line has the focus: typing starts at once
  autosave(false);
})();
