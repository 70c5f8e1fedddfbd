// The index: documents from the JSON beside this script's page, sorted, filtered and shown a page at a time,
// so a corpus of many thousands of documents stays quick to open. No network access.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rows").textContent);
  var rows = data.rows, PAGE = 100;
  var state = { key: "id", dir: 1, filter: "", label: "", page: 0 };
  var columns = [{ key: "id", title: "document", get: function (r) { return r.id; } }];
  data.meta.forEach(function (k) { columns.push({ key: "meta:" + k, title: k, get: function (r) { return r.meta[k] === undefined ? "" : r.meta[k]; } }); });
  if (rows.some(function (r) { return r.sources.length > 1; })) {
    columns.push({ key: "sources", title: "sources", get: function (r) { return r.sources.join("; "); } });
  }
  columns.push({ key: "sentences", title: "sentences", num: true, get: function (r) { return r.sentences; } });
  columns.push({ key: "total", title: "devices", num: true, get: function (r) { return r.total; } });
  data.labels.forEach(function (l) {
    columns.push({ key: "label:" + l.label, title: l.name, css: l.css, num: true, device: true,
      get: function (r) { return r.counts[l.label] || 0; } });
  });
  var select = document.getElementById("has-label");
  data.labels.forEach(function (l) {
    var option = document.createElement("option");
    option.value = l.label; option.textContent = "with " + l.name;
    select.appendChild(option);
  });
  var table = document.getElementById("documents");
  function header() {
    var tr = document.createElement("tr");
    columns.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = c.title;
      th.title = "sort by " + c.title;
      if (c.num) th.className = "num";
      if (c.device) { th.className += " device"; var s = document.createElement("span"); s.className = "swatch " + c.css; th.prepend(s); }
      if (state.key === c.key) th.classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc");
      th.addEventListener("click", function () {
        state.dir = state.key === c.key ? -state.dir : (c.num ? -1 : 1);
        state.key = c.key; state.page = 0; draw();
      });
      tr.appendChild(th);
    });
    table.tHead.textContent = "";
    table.tHead.appendChild(tr);
  }
  function selected() {
    var needle = state.filter.toLowerCase();
    var kept = rows.filter(function (r) {
      if (state.label && !r.counts[state.label]) return false;
      if (!needle) return true;
      if (r.id.toLowerCase().indexOf(needle) >= 0) return true;
      for (var k in r.meta) if (String(r.meta[k]).toLowerCase().indexOf(needle) >= 0) return true;
      return false;
    });
    var column = columns.filter(function (c) { return c.key === state.key; })[0];
    kept.sort(function (a, b) {
      var x = column.get(a), y = column.get(b);
      if (x < y) return -state.dir; if (x > y) return state.dir;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    return kept;
  }
  function draw() {
    header();
    var kept = selected();
    var pages = Math.max(1, Math.ceil(kept.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var shown = kept.slice(state.page * PAGE, (state.page + 1) * PAGE);
    var tbody = table.tBodies[0];
    tbody.textContent = "";
    shown.forEach(function (r) {
      var tr = document.createElement("tr");
      columns.forEach(function (c, i) {
        var td = document.createElement("td");
        var value = c.get(r);
        if (i === 0) {
          var a = document.createElement("a"); a.href = r.href; a.textContent = r.id; td.appendChild(a);
        } else { td.textContent = value; }
        if (c.num) td.className = "num" + (value === 0 ? " zero" : "");
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    document.getElementById("page-info").textContent = kept.length
      ? (state.page * PAGE + 1) + "\u2013" + (state.page * PAGE + shown.length) + " of " + kept.length
        + (kept.length < rows.length ? " (of " + rows.length + ")" : "")
      : "no document matches";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }
  document.getElementById("filter").addEventListener("input", function (e) { state.filter = e.target.value; state.page = 0; draw(); });
  select.addEventListener("change", function (e) { state.label = e.target.value; state.page = 0; draw(); });
  document.getElementById("prev").addEventListener("click", function () { state.page -= 1; draw(); });
  document.getElementById("next").addEventListener("click", function () { state.page += 1; draw(); });
  draw();
})();
