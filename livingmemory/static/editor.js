/* Living Memory transcript editor: audio beside the transcript, driven by the keyboard.
 *
 * Lines come from the page (#lines-data), are edited here and saved as JSON to the
 * workspace, which stores them as a human transcript with revisions (review --apply).
 * Every value is put into the page with textContent/value, never as HTML.
 */
(function () {
  "use strict";
  const root = document.getElementById("editor");
  if (!root) return;
  const audio = document.getElementById("audio");
  const list = document.getElementById("lines");
  const status = document.getElementById("status");
  const rateLabel = document.getElementById("rate");
  const reviewedCount = document.getElementById("reviewed-count");
  const RATES = [1, 0.75, 0.5];
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
  let lines = JSON.parse(document.getElementById("lines-data").textContent);
  let active = 0;
  let playing = -1;
  let dirty = false;

  function fmt(seconds) {
    const tenths = Math.max(0, Math.floor(seconds * 10));
    const s = Math.floor(tenths / 10);
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0") +
      "," + (tenths % 10);
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function markDirty() {
    dirty = true;
    say("Neshranjene spremembe / unsaved changes", "warn");
  }

  function isSuspect(line) {
    return (line.flags || []).length > 0;
  }

  function grow(area) {
    area.style.height = "auto";
    area.style.height = area.scrollHeight + 2 + "px";
  }

  function render(focusIndex, caret) {
    list.textContent = "";
    lines.forEach(function (line, index) {
      const row = document.createElement("div");
      row.className = "line";
      if (isSuspect(line)) row.classList.add("suspect");
      if (line.reviewed) row.classList.add("reviewed");
      if (index === playing) row.classList.add("current");
      row.dataset.index = index;

      const time = document.createElement("button");
      time.type = "button";
      time.className = "time";
      time.textContent = fmt(line.start);
      time.title = "Predvajaj od tu / play from here";
      time.addEventListener("click", function () {
        audio.currentTime = line.start;
        audio.play();
      });

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
      text.setAttribute("aria-label", "Besedilo / text " + fmt(line.start));
      text.addEventListener("input", function () {
        line.text = text.value;
        grow(text);
        markDirty();
      });
      [speaker, text].forEach(function (el) {
        el.addEventListener("focus", function () {
          active = index;
          list.querySelectorAll(".line.active").forEach(function (r) { r.classList.remove("active"); });
          row.classList.add("active");
        });
      });

      const flags = document.createElement("span");
      flags.className = "flags";
      if (isSuspect(line)) {
        flags.textContent = "⚠ " + line.flags.map(function (f) { return FLAG_NAMES[f] || f; }).join(", ");
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
      head.append(time, speaker, flags, reviewed);
      row.append(head, text);
      list.append(row);
    });
    list.querySelectorAll("textarea").forEach(grow);
    count();
    if (focusIndex !== undefined) focusLine(focusIndex, caret);
  }

  function count() {
    const done = lines.filter(function (l) { return l.reviewed; }).length;
    const suspect = lines.filter(function (l) { return isSuspect(l) && !l.reviewed; }).length;
    reviewedCount.textContent = "Pregledane vrstice: " + done + " od " + lines.length +
      " · sumljive: " + suspect + " (reviewed, suspect)";
  }

  function textArea(index) {
    const row = list.querySelector('.line[data-index="' + index + '"]');
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
      say("Postavite kazalec sredi besedila / put the cursor inside the text", "warn");
      return;
    }
    const share = at / Math.max(1, area.value.length);
    const middle = Math.round((line.start + (line.end - line.start) * share) * 1000) / 1000;
    const second = { id: null, start: middle, end: line.end, speaker: line.speaker,
      text: after, flags: line.flags, reviewed: false };
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
    say("Ni več sumljivih vrstic / no suspect lines left", "ok");
  }

  function slower() {
    const next = RATES[(RATES.indexOf(audio.playbackRate) + 1) % RATES.length] || 1;
    audio.playbackRate = next;
    rateLabel.textContent = String(next).replace(".", ",") + "×";
  }

  function toggle() {
    if (audio.paused) audio.play(); else audio.pause();
  }

  function back() {
    audio.currentTime = Math.max(0, audio.currentTime - 5);
  }

  async function save() {
    say("Shranjujem … / saving …");
    const payload = { lines: lines.map(function (l) {
      return { id: l.id, start: l.start, end: l.end, speaker: l.speaker, text: l.text,
        reviewed: !!l.reviewed };
    }) };
    try {
      const response = await fetch(root.dataset.save, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrftoken": root.dataset.csrftoken },
        body: JSON.stringify(payload),
      });
      const data = await response.json();
      if (!response.ok || !data.ok) {
        say("Ni shranjeno / not saved: " + (data.error || response.status), "error");
        return;
      }
      lines = data.lines_data;
      dirty = false;
      const tags = data.tags === null || data.tags === undefined ? "" : ", oznake: " + data.tags;
      say("Shranjeno (spremenjene vrstice: " + data.changed + ", združene ali izbrisane: " +
        data.deleted + tags + ") / saved", "ok");
      render(Math.min(active, lines.length - 1));
    } catch (error) {
      say("Ni shranjeno / not saved: " + error, "error");
    }
  }

  root.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      ({ toggle: toggle, back: back, slower: slower, suspect: nextSuspect, save: save })[
        button.dataset.action]();
    });
  });

  document.addEventListener("keydown", function (event) {
    let handled = true;
    if (event.key === "Escape") toggle();
    else if (event.key === "F1") back();
    else if (event.key === "F2") slower();
    else if (event.key === "F3") nextSuspect();
    else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) split();
    else if (event.altKey && event.code === "KeyM") merge();
    else if (event.altKey && event.code === "KeyR") toggleReviewed();
    else if (event.altKey && event.key === "ArrowDown") focusLine(active + 1);
    else if (event.altKey && event.key === "ArrowUp") focusLine(active - 1);
    else if ((event.ctrlKey || event.metaKey) && event.code === "KeyS") save();
    else handled = false;
    if (handled) event.preventDefault();
  }, true);

  audio.addEventListener("timeupdate", function () {
    const t = audio.currentTime;
    let index = -1;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].start <= t + 0.05 && t < lines[i].end) { index = i; break; }
    }
    if (index === playing) return;
    const old = list.querySelector(".line.current");
    if (old) old.classList.remove("current");
    playing = index;
    const row = list.querySelector('.line[data-index="' + index + '"]');
    if (row) {
      row.classList.add("current");
      if (!row.contains(document.activeElement)) row.scrollIntoView({ block: "nearest" });
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  render();
})();
