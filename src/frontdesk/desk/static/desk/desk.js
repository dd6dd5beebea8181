// Shortcuts on every workspace page. "/" focuses the global search box (unless typing).
(function () {
  "use strict";
  function typing(target) {
    if (!target) return false;
    const tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    const box = document.querySelector("[data-desk-search]");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
