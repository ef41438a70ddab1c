// Progressive enhancement, loaded from this server (the Content-Security-Policy allows no
// inline script): draw the charts whose plotly figures sit in data-chart attributes, and
// submit a filter form as soon as one of its choices changes.
"use strict";

function drawCharts() {
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var figure = JSON.parse(box.getAttribute("data-chart"));
    Plotly.newPlot(box, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });
}

function autosubmitFilters() {
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.requestSubmit();
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  drawCharts();
  autosubmitFilters();
});
