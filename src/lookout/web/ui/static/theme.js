// Applied before the page paints, so a chosen theme never flashes the other one.
(function () {
  var t = null;
  try { t = localStorage.getItem("lookout-theme"); } catch (e) {}
  if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
})();
