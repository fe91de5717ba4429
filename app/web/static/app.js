// Milestone Sync: small progressive enhancement. Every page works without it.
// - the data's age ticks on ("synced 12 s ago");
// - live pages poll /live (the KPI view's generation, no KPI work) and reload when a pipeline
//   pass has been taken in, unless the reader is typing in a form;
// - [data-fragment] sections load their content (the backtest, candidate milestones) after
//   the page, and again while it is still being computed;
// - [data-copy] buttons copy the text of the element they name (a proposed rule).
(function () {
  "use strict";
  var body = document.body;
  var started = Date.now();
  var baseAge = body.dataset.age === "" ? null : parseFloat(body.dataset.age);

  function ago(seconds) {
    if (seconds < 90) return Math.round(seconds) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 129600) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  var ageNode = document.getElementById("data-age");
  if (ageNode && baseAge !== null) {
    setInterval(function () {
      ageNode.textContent = ago(baseAge + (Date.now() - started) / 1000);
    }, 1000);
  }

  function busy() {
    var active = document.activeElement;
    return active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.value !== active.defaultValue;
  }

  if (body.dataset.live === "on") {
    var generation = body.dataset.generation;
    var poll = function () {
      if (document.visibilityState !== "visible") return;
      fetch("/live", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (!state || state.generation === null || state.generation === undefined) return;
          if (generation === "") { generation = String(state.generation); return; }
          if (String(state.generation) !== generation && !busy()) {
            window.location.reload();
          }
        })
        .catch(function () {});
    };
    setInterval(poll, 5000);
  }

  function copyButtons(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-copy]"), function (button) {
      var source = document.getElementById(button.dataset.copy);
      if (!source || !navigator.clipboard) return;
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 2000);
        }, function () {});
      });
    });
  }
  copyButtons(document);

  // a fragment takes the place of its placeholder; one still being computed (data-pending)
  // is asked for again until it is ready
  function load(node) {
    fetch(node.dataset.fragment, { credentials: "same-origin", headers: { "X-Fragment": "1" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var content = doc.querySelector("[data-fragment-content]");
        if (!content) return;
        var pending = content.hasAttribute("data-pending");
        content.setAttribute("data-fragment", node.dataset.fragment);
        node.replaceWith(content);
        copyButtons(content);
        if (pending) setTimeout(function () { load(content); }, 3000);
      })
      .catch(function () {});
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-fragment]"), load);
})();
