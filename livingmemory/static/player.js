// Living Memory: play a recording from the start of a transcript segment.
// Buttons rendered by livingmemory.site.plugin look like
//   <button class="lm-play" data-src="/-/audio/3.opus" data-start="12.5">
// One shared <audio id="lm-player"> element, fixed at the bottom of the page, plays them all.
(function () {
  "use strict";

  var pendingStart = null;

  function seekAndPlay(audio, start) {
    pendingStart = null;
    audio.currentTime = start;
    window.lmLastSeek = start;
    var playing = audio.play();
    if (playing && typeof playing.catch === "function") {
      // Autoplay policy or a decoding error: the controls are there to press play by hand.
      playing.catch(function (error) {
        if (window.console) console.warn("livingmemory: audio did not start", error);
      });
    }
  }

  function getPlayer() {
    var audio = document.getElementById("lm-player");
    if (audio) return audio;
    audio = document.createElement("audio");
    audio.id = "lm-player";
    audio.controls = true;
    audio.preload = "metadata";
    audio.style.cssText =
      "position:fixed;left:0;right:0;bottom:0;width:100%;z-index:1000;" +
      "background:#f4f4f4;box-shadow:0 -1px 4px rgba(0,0,0,.2);";
    audio.addEventListener("loadedmetadata", function () {
      if (pendingStart !== null) seekAndPlay(audio, pendingStart);
    });
    document.body.appendChild(audio);
    document.body.style.paddingBottom = "64px"; // keep the last rows above the player
    return audio;
  }

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest(".lm-play") : null;
    if (!button) return;
    var src = button.getAttribute("data-src");
    var start = parseFloat(button.getAttribute("data-start"));
    if (!src || !isFinite(start) || start < 0) return;
    event.preventDefault();

    var audio = getPlayer();
    audio.setAttribute("data-lm-start", String(start));
    // audio.src reads back as an absolute URL.
    if (audio.src !== new URL(src, document.baseURI).href) {
      pendingStart = start;
      audio.src = src; // loads; loadedmetadata then seeks and plays
      return;
    }
    if (audio.error) {
      // the last load failed (network, server): try again
      pendingStart = start;
      audio.load();
    } else if (audio.readyState >= 1) {
      // HAVE_METADATA: seeking works now
      seekAndPlay(audio, start);
    } else {
      pendingStart = start; // same file, still loading
    }
  });
})();
