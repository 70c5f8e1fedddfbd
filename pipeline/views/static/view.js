// The article page: label toggles, a tooltip listing every mark under the pointer, and the line from a
// blame span to its blamed actor. No network access.
(function () {
  "use strict";
  var body = document.body;
  document.querySelectorAll("input[data-toggle]").forEach(function (box) {
    box.addEventListener("change", function () {
      var css = box.getAttribute("data-toggle");
      body.classList.toggle("hide-" + css, !box.checked);
      document.querySelectorAll("." + css).forEach(function (el) {
        if (!el.classList.contains("swatch")) el.classList.toggle("off", !box.checked);
      });
    });
  });
  var tip = document.getElementById("tip");
  var svg = document.getElementById("links");
  function marksAt(el) {
    var chain = [];
    for (var m = el.closest ? el.closest("mark") : null; m; m = m.parentElement.closest("mark")) {
      if (!m.classList.contains("off")) chain.push(m);
    }
    return chain;
  }
  function clearLinks() {
    document.querySelectorAll("mark.linked").forEach(function (m) { m.classList.remove("linked"); });
    while (svg.firstChild) svg.removeChild(svg.firstChild);
  }
  function link(mark) {
    var section = mark.closest("section");
    var ref = mark.getAttribute("data-actor");
    var actors = section.querySelectorAll('mark[data-actor-id="' + ref + '"]');
    if (!actors.length) return;
    var a = mark.getBoundingClientRect();
    actors.forEach(function (actor) { actor.classList.add("linked"); });
    var b = actors[0].getBoundingClientRect();
    var line = document.createElementNS("http://www.w3.org/2000/svg", "line");
    line.setAttribute("x1", a.left + a.width / 2 + window.scrollX);
    line.setAttribute("y1", a.top + window.scrollY);
    line.setAttribute("x2", b.left + b.width / 2 + window.scrollX);
    line.setAttribute("y2", b.bottom + window.scrollY);
    svg.appendChild(line);
  }
  document.addEventListener("mouseover", function (event) {
    var chain = marksAt(event.target);
    clearLinks();
    if (!chain.length) { tip.hidden = true; return; }
    tip.textContent = "";
    chain.forEach(function (m) {
      var row = document.createElement("div");
      row.textContent = m.getAttribute("title") + "  [" + m.getAttribute("data-start") + "\u2013" + m.getAttribute("data-end") + ")";
      tip.appendChild(row);
      if (m.classList.contains("has-actor")) link(m);
    });
    tip.hidden = false;
  });
  document.addEventListener("mousemove", function (event) {
    if (tip.hidden) return;
    tip.style.left = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (event.clientY + 18) + "px";
  });
})();
