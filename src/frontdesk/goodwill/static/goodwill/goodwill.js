// Goodwill panel: "Insert into reply" puts a granted gesture's filled snippet into the reply
// composer (a static file: the CSP forbids inline script). Delegated, because the panel is
// loaded and replaced by htmx.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-goodwill-insert]");
    if (!button) { return; }
    var body = document.getElementById("composer-body");
    if (!body) { return; }
    var reply = document.getElementById("composer-kind-reply");
    if (reply && !reply.checked) { reply.click(); }
    var snippet = button.getAttribute("data-snippet") || "";
    var start = body.selectionStart, end = body.selectionEnd;
    if (typeof start !== "number" || document.activeElement !== body) {
      start = end = body.value.length;
    }
    var before = body.value.slice(0, start), after = body.value.slice(end);
    var glue = before && !/\n$/.test(before) ? "\n\n" : "";
    body.value = before + glue + snippet + after;
    body.focus();
    var caret = (before + glue + snippet).length;
    body.setSelectionRange(caret, caret);
    body.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
