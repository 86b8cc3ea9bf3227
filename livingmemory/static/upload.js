/* Upload with a progress bar: the same form, sent with XMLHttpRequest so a volunteer sees
 * how far an hour-long WAV has got. Without JavaScript the form posts as usual. The
 * csrftoken field stays first in the body (FormData keeps the form's order). */
(function () {
  "use strict";
  const form = document.querySelector("form[data-upload]");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const bar = document.getElementById("upload-progress");
  const label = document.getElementById("upload-label");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar.hidden = false;
      bar.value = e.loaded / e.total;
      label.textContent = Math.round((100 * e.loaded) / e.total) + " % naloženo / uploaded" +
        (e.loaded === e.total ? " · preverjam posnetke … / checking the audio …" : "");
    });
    request.addEventListener("load", function () {
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      label.textContent = "Povezava prekinjena, poskusite znova. / Connection lost, try again.";
    });
    form.querySelector("button[type=submit]").disabled = true;
    request.send(new FormData(form));
  });
})();
