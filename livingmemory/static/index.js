/* Living Memory index editor: points of the interview index beside the player.
 *
 * "Add a point here" (Alt+I, the editor's action index_add) opens a form at the player's current time; points are saved as
 * JSON to the workspace (site/workspace_index.py), which keeps every change as a revision
 * under the volunteer's name. Machine suggestions arrive as drafts to accept, edit or
 * remove. Every value is put into the page with textContent/value, never as HTML.
 */
(function () {
  "use strict";
  const root = document.getElementById("ix");
  if (!root) return;
  const audio = document.getElementById("audio");
  const list = document.getElementById("ix-list");
  const count = document.getElementById("ix-count");
  const status = document.getElementById("ix-status");
  const dialog = document.getElementById("ix-dialog");
  const form = document.getElementById("ix-form");
  const error = document.getElementById("ix-error");
  const addButton = root.querySelector('[data-ix="add"]');
  let points = [];
  let editing = null; // the point being edited, or null for a new one
  let returnFocus = null;

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h + ":" + String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function seconds(text) {
    const parts = String(text).trim().replace(",", ".").split(":");
    if (!parts.length || parts.some(function (p) { return p === "" || isNaN(Number(p)); })) return NaN;
    return parts.reduce(function (total, part) { return total * 60 + Number(part); }, 0);
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = "ix-status " + (kind || "");
  }

  function button(label, english, handler) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label + " ";
    const en = document.createElement("span");
    en.className = "en";
    en.textContent = english;
    b.appendChild(en);
    b.addEventListener("click", handler);
    return b;
  }

  function render() {
    list.textContent = "";
    count.textContent = String(points.length);
    points.forEach(function (point) {
      const li = document.createElement("li");
      li.className = "ix-point" + (point.status === "draft" ? " draft" : "");
      li.dataset.id = point.id;
      const go = document.createElement("button");
      go.type = "button";
      go.className = "ix-go";
      go.textContent = clock(point.at);
      go.setAttribute("aria-label", "Pojdi na " + clock(point.at) + " / Go to: " + point.title);
      go.addEventListener("click", function () {
        if (audio) { audio.currentTime = point.at; audio.play().catch(function () {}); }
      });
      const title = document.createElement("span");
      title.className = "ix-title";
      title.textContent = " " + point.title;
      li.append(go, title);
      if (point.status === "draft") {
        const badge = document.createElement("span");
        badge.className = "ix-badge";
        badge.textContent = point.source === "machine" ? " · predlog stroja / suggestion" : " · osnutek / draft";
        li.appendChild(badge);
      }
      const buttons = document.createElement("div");
      buttons.className = "ix-buttons";
      buttons.appendChild(button("Uredi", "Edit", function (event) { open(point, event.currentTarget); }));
      if (point.status === "draft") {
        buttons.appendChild(button("Potrdi", "Accept", function () { send({ action: "accept", id: point.id }, "Potrjeno · accepted"); }));
      }
      buttons.appendChild(button("Odstrani", "Remove", function () {
        if (window.confirm("Odstranim točko »" + point.title + "«? / Remove this point?")) {
          send({ action: "remove", id: point.id }, "Odstranjeno · removed");
        }
      }));
      li.appendChild(buttons);
      list.appendChild(li);
    });
  }

  async function send(body, done) {
    say("Shranjujem … · saving …");
    let data;
    try {
      const response = await fetch(root.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrftoken": root.dataset.csrftoken },
        body: JSON.stringify(body),
      });
      data = await response.json();
    } catch (problem) {
      data = { ok: false, error: "ni povezave / no connection" };
    }
    if (!data.ok) {
      say("Napaka · error: " + data.error, "error");
      return data;
    }
    points = data.points;
    render();
    say(done, "ok");
    return data;
  }

  async function load() {
    try {
      const response = await fetch(root.dataset.url + ".json", { credentials: "same-origin" });
      const data = await response.json();
      if (data.ok) { points = data.points; render(); }
    } catch (problem) {
      say("Kazala ni bilo mogoče naložiti · could not load the index", "error");
    }
  }

  function field(name) { return form.elements.namedItem(name); }

  function open(point, from) {
    editing = point;
    returnFocus = from || addButton;
    error.textContent = "";
    const at = point ? point.at : (audio ? audio.currentTime : 0);
    field("at").value = clock(at);
    field("title").value = point ? point.title : "";
    field("synopsis").value = point ? point.synopsis || "" : "";
    field("partial_transcript").value = point ? point.partial_transcript || "" : "";
    field("keywords").value = point ? point.keywords.join(", ") : "";
    field("subjects").value = point ? point.subjects.join(", ") : "";
    field("place").value = point ? point.place || "" : "";
    field("lat").value = point && point.lat !== null ? point.lat : "";
    field("lon").value = point && point.lon !== null ? point.lon : "";
    field("links").value = point ? point.links.map(function (l) { return l.label && l.label !== l.url ? l.url + " " + l.label : l.url; }).join("\n") : "";
    if (audio && !point) audio.pause();
    dialog.showModal();
    field("title").focus();
  }

  function close() {
    dialog.close();
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
    else addButton.focus();
  }

  function values() {
    const at = seconds(field("at").value);
    if (!isFinite(at)) throw new Error("Čas naj bo h:mm:ss ali sekunde · time: h:mm:ss or seconds");
    const point = {
      at: at,
      title: field("title").value,
      synopsis: field("synopsis").value,
      partial_transcript: field("partial_transcript").value,
      keywords: field("keywords").value,
      subjects: field("subjects").value,
      place: field("place").value,
      links: field("links").value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean),
    };
    const lat = field("lat").value.trim();
    const lon = field("lon").value.trim();
    if (lat || lon) { point.lat = lat; point.lon = lon; }
    return point;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    let point;
    try { point = values(); } catch (problem) { error.textContent = problem.message; field("at").focus(); return; }
    const body = editing ? { action: "edit", id: editing.id, point: point } : { action: "add", point: point };
    const data = await send(body, editing ? "Točka popravljena · point saved" : "Točka dodana · point added");
    if (data.ok) close();
    else error.textContent = data.error;
  });

  root.addEventListener("click", function (event) {
    const target = event.target.closest ? event.target.closest("[data-ix]") : null;
    if (!target) return;
    const action = target.getAttribute("data-ix");
    if (action === "add") open(null, target);
    else if (action === "cancel") close();
    else if (action === "suggest") {
      const before = points.length;
      send({ action: "suggest" }, "").then(function (data) {
        if (data.ok) say("Novih predlogov · new suggestions: " + (points.length - before), "ok");
      });
    }
  });

  // Before the transcript editor's own keys (capture on window runs first): while the form
  // is open its keys stay in the form, Escape closes it and Ctrl+Enter saves it. The key that
  // adds a point (Alt+I unless changed in the settings) is the editor's action "index_add".
  window.addEventListener("keydown", function (event) {
    if (dialog.open) {
      event.stopPropagation();
      if (event.key === "Escape") { event.preventDefault(); close(); }
      else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
    }
  }, true);

  if (window.matchMedia && window.matchMedia("(max-width: 800px)").matches) {
    document.getElementById("ix-details").open = false; // the player stays small on a phone
  }
  load();
})();
