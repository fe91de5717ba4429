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

  var KEY = /^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*)(:)(?=\s|$)/;
  var VALUE = /("(?:[^"\\]|\\.)*"?|'[^']*'?)|((?:^|\s)#.*$)|(-?\b\d+(?:\.\d+)?\b)/g;

  function paintValue(text) {
    var out = "";
    var last = 0;
    text.replace(VALUE, function (match, quoted, comment, number, at) {
      out += esc(text.slice(last, at));
      var css = quoted ? "y-str" : comment ? "y-com" : "y-num";
      out += '<span class="' + css + '">' + esc(match) + "</span>";
      last = at + match.length;
      return match;
    });
    return out + esc(text.slice(last));
  }

  function paintLine(line) {
    var key = line.match(KEY);
    if (!key) return paintValue(line);
    return esc(key[1]) + '<span class="y-key">' + esc(key[2]) + "</span>:" +
      paintValue(line.slice(key[0].length));
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
