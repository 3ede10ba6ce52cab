// System Status refreshes its gauges from the API (with the session cookie) without reloading the page.
// The page works without this script; nothing here builds markup from data: values are set as text.
(function () {
  "use strict";
  var gauges = document.querySelectorAll("[data-health]");
  if (!gauges.length) { return; }
  function refresh() {
    fetch("/esa/api/v2.0/health", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.data) { return; }
        gauges.forEach(function (el) {
          var key = el.getAttribute("data-health");
          if (key in body.data) {
            var v = body.data[key];
            el.textContent = key.indexOf("percentage") === 0 ? v + "%" : String(v);
          }
        });
        var stamp = document.getElementById("refreshed");
        if (stamp) { stamp.textContent = "Refreshed " + new Date().toLocaleTimeString() + "."; }
      })
      .catch(function () { /* the next turn tries again */ });
  }
  setInterval(refresh, 5000);
  refresh();
})();
