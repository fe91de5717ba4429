// The rule editor: YAML highlighting under a plain textarea, and the file checked as it is
// typed (POST /ops/rules/validate), with each error shown at its line and column. Without
// script the textarea and the Check button do the same on the server.
(function () {
  "use strict";
  var area = document.getElementById("rules");
  var editor = document.getElementById("editor");
  var shade = document.getElementById("highlight");
  var box = document.getElementById("diagnostics");
  if (!area || !editor || !shade || !box) return;
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var errors = [];
  var leaving = false;

  function esc(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function paintLine(line) {
    var comment = "";
    var hash = line.search(/(^|\s)#/);
    if (hash >= 0) { comment = line.slice(hash); line = line.slice(0, hash); }
    var html = esc(line)
      .replace(/^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*)(:)(?=\s|$)/, '$1<span class="y-key">$2</span>$3')
      .replace(/(&quot;|")(.*?)("|&quot;)|'(.*?)'/g, function (m) { return '<span class="y-str">' + m + "</span>"; })
      .replace(/(:\s+)(-?\d+(?:\.\d+)?)(\s*)$/, '$1<span class="y-num">$2</span>$3');
    if (comment) html += '<span class="y-com">' + esc(comment) + "</span>";
    return html;
  }

  function paint() {
    var lines = area.value.split("\n");
    var marked = {};
    errors.forEach(function (e) { marked[e.line] = true; });
    shade.innerHTML = lines.map(function (line, i) {
      var html = paintLine(line);
      return marked[i + 1] ? '<span class="y-err">' + (html || " ") + "</span>" : html;
    }).join("\n") + "\n";
    sync();
  }

  function sync() {
    shade.scrollTop = area.scrollTop;
    shade.scrollLeft = area.scrollLeft;
  }

  function goTo(line, column) {
    var lines = area.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    area.focus();
    area.setSelectionRange(offset, offset + 1);
  }

  function show(report) {
    errors = report.errors || [];
    var warnings = report.warnings || [];
    var status = document.createElement("p");
    status.id = "diagnostics-status";
    status.className = report.ok ? "ok" : "error";
    status.textContent = report.ok ? "No errors." : errors.length + (errors.length === 1 ? " error." : " errors.");
    var list = document.createElement("ul");
    list.className = "diagnostics";
    errors.concat(warnings).forEach(function (d) {
      var item = document.createElement("li");
      var jump = document.createElement("button");
      jump.type = "button";
      jump.className = "link-button";
      jump.textContent = (d.severity === "warning" ? "Warning, line " : "Line ") + d.line + ", column " + d.column;
      jump.addEventListener("click", function () { goTo(d.line, d.column); });
      item.className = d.severity === "warning" ? "" : "error";
      item.dataset.line = d.line;
      item.dataset.column = d.column;
      item.appendChild(jump);
      item.appendChild(document.createTextNode(": " + d.message + (d.expected ? " (expected " + d.expected + ")" : "")));
      list.appendChild(item);
    });
    box.replaceChildren(status, list);
    paint();
  }

  var timer = null;
  var asked = 0;
  function check() {
    var mine = ++asked;
    fetch(area.dataset.validate, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ rules: area.value, connection: area.dataset.connection || null })
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (report) { if (report && mine === asked) show(report); })
      .catch(function () {});
  }

  area.addEventListener("input", function () {
    paint();
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  });
  area.addEventListener("scroll", sync);
  area.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { leaving = true; return; }
    if (event.key === "Tab" && !leaving && !event.shiftKey) {
      event.preventDefault();
      var start = area.selectionStart;
      area.setRangeText("  ", start, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
      return;
    }
    leaving = false;
  });
  editor.classList.add("highlighting");
  Array.prototype.forEach.call(box.querySelectorAll("li[data-line]"), function (li) {
    errors.push({ line: parseInt(li.dataset.line, 10) });
  });
  paint();
  if (area.value.trim()) check();
})();
