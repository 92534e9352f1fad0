// Only adds the "failures only" filter: every result is in the page without it.
(function () {
  var filter = document.getElementById("filter");
  var box = document.getElementById("failures-only");
  function apply() { document.body.classList.toggle("failures-only", box.checked); }
  box.checked = box.checked || location.hash === "#failures-only";
  box.addEventListener("change", apply);
  filter.hidden = false;
  apply();
  document.documentElement.setAttribute("data-ready", "true");
})();
