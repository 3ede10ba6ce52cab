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

// The Remediation Report Status widget follows its jobs from the API until none is in progress.
(function () {
  "use strict";
  var widget = document.querySelector("[data-remediation]");
  if (!widget) { return; }
  var timer = null;
  function set(selector, value) {
    var el = widget.parentNode.querySelector(selector);
    if (el) { el.textContent = String(value); }
  }
  function refresh() {
    fetch("/esa/api/v2.0/remediation?limit=20", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.data) { return; }
        var running = 0;
        body.data.forEach(function (job) {
          var id = job.batch_details.batch_id, n = job.summary;
          ["total", "succeeded", "failed", "in_progress"].forEach(function (k) {
            set('[data-job="' + id + '"][data-count="' + k + '"]', n[k]);
          });
          set('[data-job="' + id + '"][data-count="status"]', n.in_progress === 0 ? "Completed" : "In Progress");
          job.message_details.forEach(function (m, i) {
            set('[data-job="' + id + '"][data-item="' + i + '"]', m.mor_status);
          });
          running += n.in_progress;
        });
        var stamp = document.getElementById("remediation-refreshed");
        if (stamp) { stamp.textContent = "Refreshed " + new Date().toLocaleTimeString() + "."; }
        if (running === 0 && timer !== null) { clearInterval(timer); timer = null; }
      })
      .catch(function () { /* the next turn tries again */ });
  }
  timer = setInterval(refresh, 2000);
  refresh();
})();
