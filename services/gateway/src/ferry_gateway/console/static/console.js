// Live parts of a console page: an element with data-poll="<url>" is refreshed from that URL
// every data-every milliseconds. A jobs table stops polling once no job is active any more.
(function () {
  "use strict";
  var ACTIVE = ["scheduled", "queued", "running", "pending_retry"];

  function active(el) {
    var rows = el.querySelectorAll("[data-status]");
    for (var i = 0; i < rows.length; i++) {
      if (ACTIVE.indexOf(rows[i].getAttribute("data-status")) >= 0) { return true; }
    }
    return false;
  }

  function poll(el) {
    var every = parseInt(el.getAttribute("data-every") || "2000", 10);
    var untilIdle = el.id === "jobs-live";
    function tick() {
      fetch(el.getAttribute("data-poll"), {credentials: "same-origin", headers: {"accept": "text/html"}})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          el.innerHTML = html;
          // Parts of the answer that belong elsewhere on the page replace the element of that id.
          el.querySelectorAll("template[data-replace]").forEach(function (t) {
            var target = document.getElementById(t.getAttribute("data-replace"));
            if (target) { target.replaceWith(t.content.cloneNode(true)); }
            t.remove();
          });
          if (!untilIdle || active(el)) { setTimeout(tick, every); }
        })
        .catch(function () { setTimeout(tick, every * 3); });
    }
    setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
