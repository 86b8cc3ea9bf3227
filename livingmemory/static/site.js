// Living Memory interview page: the transcript follows the recording, and the recording
// follows the transcript. Lines carry data-start (seconds); a time-coded link is the page
// URL with #t=<second>, so it survives corrections that renumber segments.
(function () {
  "use strict";
  var audio = document.getElementById("lm-audio");
  var root = document.querySelector(".interview");
  if (!root) return;
  var lines = Array.prototype.slice.call(document.querySelectorAll("#transcript .line[data-start]"));
  var starts = lines.map(function (l) { return parseFloat(l.getAttribute("data-start")); });
  var current = -1;
  var pending = null;
  var follow = document.getElementById("follow");
  var nowClock = document.getElementById("now-clock");
  var citeLink = document.getElementById("cite-link");
  var citeUrl = document.getElementById("cite-url");
  var pageUrl = root.getAttribute("data-page-url");
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var lastUserScroll = 0;
  var lastSecond = -1;

  function clock(seconds) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function indexAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function setCurrent(i, scroll) {
    if (i === current) return;
    if (current >= 0 && lines[current]) {
      lines[current].classList.remove("is-current");
      lines[current].removeAttribute("aria-current");
    }
    current = i;
    if (i < 0 || !lines[i]) return;
    lines[i].classList.add("is-current");
    lines[i].setAttribute("aria-current", "true");
    // Do not pull the page away from someone reading elsewhere (for 4 s after they scroll).
    if (scroll && follow && follow.checked && Date.now() - lastUserScroll > 4000) {
      lines[i].scrollIntoView({ block: "center", behavior: reduceMotion ? "auto" : "smooth" });
    }
  }

  function updateCite(t) {
    var second = Math.floor(t || 0);
    if (second === lastSecond) return;
    lastSecond = second;
    if (nowClock) nowClock.textContent = clock(second);
    var url = second > 0 ? pageUrl + "#t=" + second : pageUrl;
    if (citeLink) { citeLink.href = url; citeLink.textContent = url; }
    if (citeUrl) citeUrl.value = url;
  }

  function playFrom(t) {
    if (!audio) return;
    updateCite(t);
    setCurrent(indexAt(t), false);
    if (audio.readyState >= 1) {
      audio.currentTime = t;
      var p = audio.play();
      if (p && p.catch) p.catch(function () {});
    } else {
      pending = t;
      if (audio.networkState === 0 || audio.error) audio.load();
      var p2 = audio.play();
      if (p2 && p2.catch) p2.catch(function () {});
    }
  }

  if (audio) {
    audio.addEventListener("loadedmetadata", function () {
      if (pending !== null) { audio.currentTime = pending; pending = null; }
    });
    audio.addEventListener("timeupdate", function () {
      setCurrent(indexAt(audio.currentTime), !audio.paused);
      updateCite(audio.currentTime);
    });
    audio.addEventListener("seeked", function () {
      setCurrent(indexAt(audio.currentTime), true);
      updateCite(audio.currentTime);
    });
  }
  ["wheel", "touchmove"].forEach(function (name) {
    window.addEventListener(name, function () { lastUserScroll = Date.now(); }, { passive: true });
  });

  function lineFrom(target) {
    return target && target.closest ? target.closest("#transcript .line[data-start]") : null;
  }

  var transcript = document.getElementById("transcript");
  if (transcript) {
    transcript.addEventListener("click", function (event) {
      var line = lineFrom(event.target);
      if (!line) return;
      if (window.getSelection && String(window.getSelection()).length > 0) return; // selecting text
      event.preventDefault();
      var t = parseFloat(line.getAttribute("data-start"));
      if (history.replaceState) history.replaceState(null, "", "#t=" + Math.floor(t));
      playFrom(t);
    });
    transcript.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" && event.key !== " ") return;
      var line = lineFrom(event.target);
      if (!line) return;
      event.preventDefault();
      playFrom(parseFloat(line.getAttribute("data-start")));
    });
  }

  // Index chips: each click goes to the next mention after the current moment.
  document.addEventListener("click", function (event) {
    var chip = event.target.closest ? event.target.closest(".chip[data-times], .found-item[data-start], .kazalo-play[data-start]") : null;
    if (!chip) return;
    event.preventDefault();
    if (chip.hasAttribute("data-start")) { playFrom(parseFloat(chip.getAttribute("data-start"))); return; }
    var times = chip.getAttribute("data-times").split(" ").map(parseFloat).filter(isFinite);
    if (!times.length) return;
    var now = audio ? audio.currentTime : 0;
    var next = times.filter(function (t) { return t > now + 0.5; })[0];
    playFrom(next === undefined ? times[0] : next);
  });

  // #t=754 opens the interview at that second (citations, search hits).
  function fromHash() {
    var match = /^#t=(\d+(?:\.\d+)?)$/.exec(window.location.hash);
    if (!match) return;
    var t = parseFloat(match[1]);
    updateCite(t);
    setCurrent(indexAt(t), false);
    if (current >= 0) lines[current].scrollIntoView({ block: "center" });
    if (!audio) return;
    if (audio.readyState >= 1) audio.currentTime = t; else pending = t;
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();

  // Copy the time-coded citation link.
  var copy = document.getElementById("cite-copy");
  if (copy && citeUrl) {
    copy.addEventListener("click", function () {
      citeUrl.select();
      var done = function () { copy.textContent = copy.getAttribute("data-done"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(citeUrl.value).then(done, function () { document.execCommand("copy"); done(); });
      } else { document.execCommand("copy"); done(); }
    });
  }

  // Search inside the interview without leaving the page (the form works without script too).
  var find = document.getElementById("find");
  var results = document.getElementById("najdi");
  if (find && results && window.fetch) {
    find.addEventListener("submit", function (event) {
      var q = find.querySelector("input[name=q]").value.trim();
      if (!q) return;
      event.preventDefault();
      fetch(find.getAttribute("data-json") + "?q=" + encodeURIComponent(q))
        .then(function (r) { return r.json(); })
        .then(function (hits) {
          lines.forEach(function (l) { l.classList.remove("is-match"); });
          var html = "<h2 class=\"small-h\">" + (document.documentElement.lang === "en" ? "Found in this interview" : "Zadetki v intervjuju") + ": " + hits.length + "</h2>";
          if (hits.length) {
            html += "<ul class=\"found-list\">";
            hits.forEach(function (h) {
              var line = document.getElementById("s" + h.id);
              if (line) line.classList.add("is-match");
              // h.html is escaped by the server (only <mark> is markup).
              html += "<li><a class=\"found-item\" href=\"#t=" + Math.floor(h.start) + "\" data-start=\"" + h.start + "\"><span class=\"tc\">" + h.clock + "</span> " + h.html + "</a></li>";
            });
            html += "</ul>";
          } else {
            html += "<p>" + (document.documentElement.lang === "en" ? "Nothing found." : "Ni zadetkov.") + "</p>";
          }
          results.innerHTML = html;
        });
    });
  }

  // On a phone the index starts folded, so the transcript is near the top.
  var index = document.querySelector("details.index");
  if (index && window.matchMedia && window.matchMedia("(max-width: 820px)").matches) index.open = false;
})();
