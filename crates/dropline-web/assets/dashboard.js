// dropline dashboard: small progressive enhancement. Every page works without it; with it,
// the orders list gets a "select all" box, the bulk buttons wait for a selection, and the
// actions that cannot be undone ask first.
(function () {
  "use strict";

  function bulkForm(form) {
    var boxes = form.querySelectorAll('input[type="checkbox"][name="ids"]');
    var buttons = form.querySelectorAll('.bulk-bar button[name="action"]');
    var head = form.querySelector("thead th");
    if (!boxes.length || !head) return;
    var all = document.createElement("input");
    all.type = "checkbox";
    all.id = "select-all";
    all.setAttribute("aria-label", "Select every order on this page");
    head.appendChild(all);
    function refresh() {
      var chosen = 0;
      boxes.forEach(function (box) { if (box.checked) chosen += 1; });
      all.checked = chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
      buttons.forEach(function (button) { button.disabled = chosen === 0; });
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      refresh();
    });
    boxes.forEach(function (box) { box.addEventListener("change", refresh); });
    refresh();
  }

  function confirmations() {
    document.querySelectorAll("button[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("bulk");
    if (form) bulkForm(form);
    confirmations();
  });
})();
