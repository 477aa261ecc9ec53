// Progressive enhancement only: every page works without this file.
// 1. htmx requests carry the CSRF token of the session. 2. <canvas data-chart-kind> become Chart.js charts.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (evt) {
    var token = document.body.getAttribute("data-csrf");
    if (token) { evt.detail.headers["X-CSRF-Token"] = token; }
  });

  function parse(el, name) {
    try { return JSON.parse(el.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  function draw(canvas) {
    if (!window.Chart || canvas.getAttribute("data-drawn")) { return; }
    var kind = canvas.getAttribute("data-chart-kind");
    var labels = parse(canvas, "data-labels");
    var datasets;
    if (kind === "budget") {
      datasets = [
        { label: "Spent (USD)", data: parse(canvas, "data-spent"), backgroundColor: "#0b5cad" },
        { label: "Monthly budget (USD)", data: parse(canvas, "data-budget"), backgroundColor: "#afb8c1" }
      ];
    } else {
      datasets = [{ label: "Estimated cost (USD)", data: parse(canvas, "data-cost"), backgroundColor: "#0b5cad" }];
    }
    canvas.parentElement.classList.add("drawn");  // visible before Chart.js measures it
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 scales: { y: { beginAtZero: true } }, plugins: { legend: { position: "bottom" } } }
    });
    canvas.setAttribute("data-drawn", String(chart.data.datasets.length));
  }

  function drawAll(root) {
    var list = (root || document).querySelectorAll("canvas[data-chart-kind]");
    for (var i = 0; i < list.length; i++) { draw(list[i]); }
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { drawAll(evt.target); });
})();
