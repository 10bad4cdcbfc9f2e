// Background jobs on a page (templates/admin/_jobs.html): every element with a
// data-job-status URL is asked for its job's state every two seconds and its
// text updated ("running 12 of 30"); when a job ends, the page is reloaded so
// that its result (a download link, addresses not reached) appears. Loaded as
// a file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var INTERVAL_MS = 2000;

  function poll(element) {
    var url = element.getAttribute("data-job-status");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (job) {
        var text = element.querySelector(".job-text");
        if (text) { text.textContent = job.text; }
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(function () { poll(element); }, INTERVAL_MS);
        }
      })
      .catch(function () {
        // A network hiccup or an expired login: try again later, more slowly.
        window.setTimeout(function () { poll(element); }, INTERVAL_MS * 5);
      });
  }

  function start() {
    var waiting = document.querySelectorAll("[data-job-status]");
    for (var i = 0; i < waiting.length; i += 1) {
      (function (element) {
        window.setTimeout(function () { poll(element); }, INTERVAL_MS);
      })(waiting[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
