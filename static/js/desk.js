// suz: the desk's list (issue 18). The "tick every request shown" box in the list's head ticks
// (or unticks) each row's box, so a page of 50 is picked for a bulk action in one click; ticking
// a row by hand afterwards is left as it is.
(function () {
  "use strict";
  if (window.suzDesk) { return; }
  window.suzDesk = true;
  document.addEventListener("change", function (e) {
    if (e.target.id !== "pick-all") { return; }
    e.target.closest("table").querySelectorAll("input[name=pick]").forEach(function (box) {
      box.checked = e.target.checked;
    });
  });
})();
