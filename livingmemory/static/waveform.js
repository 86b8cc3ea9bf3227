/* Living Memory editor: the recording's waveform on a canvas (no library).
 *
 * The server computes the peaks once (the loudest sample of each 1/20 s, 0..1,
 * /-/workspace/<id>/peaks.json); this draws a window of WINDOW seconds around the playhead
 * with the lines' boundaries, the current line shaded and withheld passages hatched.
 * window.LMWaveform.draw(state) is called by editor.js whenever time or lines change.
 */
(function () {
  "use strict";
  const canvas = document.getElementById("waveform");
  const holder = document.getElementById("editor");
  if (!canvas || !holder) return;
  const WINDOW = 30;
  let peaks = null;
  let perSecond = 20;
  let last = null;

  fetch(holder.dataset.peaks, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !data.peaks) return;
      peaks = data.peaks;
      const audio = document.getElementById("audio");
      const duration = audio && isFinite(audio.duration) ? audio.duration : null;
      perSecond = duration ? peaks.length / duration : 20;
      if (last) draw(last);
    })
    .catch(function () { /* no waveform: the editor works without it */ });

  function draw(state) {
    last = state;
    const width = canvas.clientWidth || 300;
    const height = canvas.height;
    if (canvas.width !== width) canvas.width = width;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#f1f4f2";
    ctx.fillRect(0, 0, width, height);
    const from = Math.max(0, state.time - WINDOW / 3);
    const to = from + WINDOW;
    const x = function (t) { return ((t - from) / WINDOW) * width; };
    (state.redactions || []).forEach(function (span) {
      if (span[1] < from || span[0] > to) return;
      ctx.fillStyle = "#f3d6d3";
      ctx.fillRect(x(span[0]), 0, x(span[1]) - x(span[0]), height);
    });
    if (state.line) {
      ctx.fillStyle = "#cfe8df";
      ctx.fillRect(x(state.line.start), 0, x(state.line.end) - x(state.line.start), height);
    }
    if (peaks) {
      ctx.fillStyle = "#2f5d50";
      const middle = height / 2;
      for (let px = 0; px < width; px++) {
        const index = Math.floor((from + (px / width) * WINDOW) * perSecond);
        const value = index >= 0 && index < peaks.length ? peaks[index] : 0;
        const h = Math.max(1, value * (height - 4));
        ctx.fillRect(px, middle - h / 2, 1, h);
      }
    }
    ctx.fillStyle = "#5b6770";
    (state.lines || []).forEach(function (line) {
      if (line.start >= from && line.start <= to) ctx.fillRect(x(line.start), 0, 1, 8);
    });
    ctx.fillStyle = "#b3261e";
    ctx.fillRect(x(state.time), 0, 2, height);
  }

  canvas.addEventListener("click", function (event) {
    if (!last) return;
    const from = Math.max(0, last.time - WINDOW / 3);
    const rect = canvas.getBoundingClientRect();
    const audio = document.getElementById("audio");
    audio.currentTime = Math.max(0, from + ((event.clientX - rect.left) / rect.width) * WINDOW);
  });

  window.LMWaveform = { draw: draw };
})();
