/* The map of places (templates/site/map.html): a cluster opens on click or Enter.
 *
 * The server draws the whole map (tiles, outlines, a link per place); this only zooms the
 * SVG's viewBox onto a cluster's places, shows them, and puts the view back on "reset".
 * Without JavaScript a cluster is a link to the list of places under the map.
 */
(function () {
  "use strict";
  function setup(figure) {
    var svg = figure.querySelector(".lm-map-svg");
    var reset = figure.querySelector(".lm-map-reset");
    if (!svg || !reset) return;
    var home = svg.getAttribute("data-viewbox");
    var clusters = Array.prototype.slice.call(figure.querySelectorAll("a.cluster"));
    var pins = Array.prototype.slice.call(figure.querySelectorAll("a.pin"));
    var hiddenAtStart = pins.filter(function (p) { return p.style.display === "none"; });
    pins.forEach(function (pin) {
      var text = pin.querySelector("text.label");
      if (text) pin.setAttribute("data-font", parseFloat(getComputedStyle(text).fontSize) || 20);
    });

    function scalePins(factor) {
      pins.forEach(function (pin) {
        var r = parseFloat(pin.getAttribute("data-r"));
        var x = parseFloat(pin.getAttribute("data-x"));
        var y = parseFloat(pin.getAttribute("data-y"));
        var circle = pin.querySelector("circle");
        if (circle) circle.setAttribute("r", (r * factor).toFixed(2));
        Array.prototype.forEach.call(pin.querySelectorAll("text"), function (text) {
          text.style.fontSize = (parseFloat(pin.getAttribute("data-font")) * factor).toFixed(2) + "px";
          if (text.classList.contains("label")) {
            text.setAttribute("x", (x + (r + 3) * factor).toFixed(2));
          }
          text.setAttribute("y", (y + 6 * factor).toFixed(2));
        });
      });
    }

    function open(cluster) {
      var box = cluster.getAttribute("data-box").split(" ").map(parseFloat);
      var full = home.split(" ").map(parseFloat);
      var pad = 40;
      var w = Math.max(box[2] - box[0] + 2 * pad, 120);
      var h = Math.max(box[3] - box[1] + 2 * pad, 120 * full[3] / full[2]);
      if (w / h > full[2] / full[3]) { h = w * full[3] / full[2]; } else { w = h * full[2] / full[3]; }
      var cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
      svg.setAttribute("viewBox", [cx - w / 2, cy - h / 2, w, h].map(function (v) { return v.toFixed(1); }).join(" "));
      scalePins(w / full[2]);
      clusters.forEach(function (c) { c.style.display = "none"; });
      hiddenAtStart.forEach(function (p) { p.style.display = ""; });
      reset.hidden = false;
      var names = cluster.getAttribute("data-members").split("|");
      var first = pins.filter(function (p) { return names.indexOf(p.getAttribute("data-name")) >= 0; })[0];
      if (first) first.focus();
    }

    reset.addEventListener("click", function () {
      svg.setAttribute("viewBox", home);
      scalePins(1);
      clusters.forEach(function (c) { c.style.display = ""; });
      hiddenAtStart.forEach(function (p) { p.style.display = "none"; });
      reset.hidden = true;
      if (clusters[0]) clusters[0].focus();
    });
    clusters.forEach(function (cluster) {
      cluster.setAttribute("role", "button");
      cluster.addEventListener("click", function (event) {
        event.preventDefault();
        open(cluster);
      });
      cluster.addEventListener("keydown", function (event) {
        if (event.key === " ") { event.preventDefault(); open(cluster); }
      });
    });
  }
  document.querySelectorAll("figure.lm-map").forEach(setup);
})();
