// The trial finder's print button (the Content-Security-Policy allows no inline script): shown
// only where script runs, it prints the summary for a neurologist through the print stylesheet.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
});
