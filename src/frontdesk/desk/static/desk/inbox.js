// Inbox keyboard navigation and row selection.
//   j / k      move the selection down / up (focus goes to the row's ticket link)
//   Enter, o   open the selected ticket
//   x          toggle the selected row's checkbox (for bulk actions)
//   r / n / a  open the ticket at its reply box, note box or assignee control (#reply, #note, #assign)
// Rows are looked up on every key press, so lists swapped in by htmx work without re-binding.
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    const tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" && target.type !== "checkbox" ||
      tag === "TEXTAREA" || tag === "SELECT";
  }
  function rows() {
    return Array.from(document.querySelectorAll("[data-inbox] tr.ticket-row"));
  }
  function current() {
    return document.querySelector("[data-inbox] tr.ticket-row.is-selected");
  }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("is-selected"); r.removeAttribute("aria-current"); });
    if (!row) return;
    row.classList.add("is-selected");
    row.setAttribute("aria-current", "true");
    const link = row.querySelector("a.ticket-link");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(current());
    const next = index === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }
  function open(row, hash) {
    if (!row) return;
    window.location.assign(row.dataset.ticketUrl + (hash || ""));
  }
  function updateCount() {
    const counter = document.querySelector("[data-bulk-count]");
    if (!counter) return;
    const n = document.querySelectorAll("[data-inbox] input[name=t]:checked").length;
    counter.textContent = n + " selected";
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (!document.querySelector("[data-inbox]")) return;
    const row = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": open(row); break;
      case "Enter":
        // On a focused link the browser follows it itself; elsewhere open the selection.
        if (event.target.tagName === "A") return;
        open(row); break;
      case "x": {
        if (!row) return;
        const box = row.querySelector("input[name=t]");
        if (box) { box.checked = !box.checked; updateCount(); }
        break;
      }
      case "r": open(row, "#reply"); break;
      case "n": open(row, "#note"); break;
      case "a": open(row, "#assign"); break;
      default: return;
    }
    event.preventDefault();
  });

  // A row gets the selection when its link gains focus (Tab, click) so keys act on it.
  document.addEventListener("focusin", function (event) {
    const row = event.target.closest && event.target.closest("[data-inbox] tr.ticket-row");
    if (row && !row.classList.contains("is-selected")) {
      rows().forEach(function (r) { r.classList.remove("is-selected"); r.removeAttribute("aria-current"); });
      row.classList.add("is-selected");
      row.setAttribute("aria-current", "true");
    }
  });

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches && target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-inbox] input[name=t]").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.name === "t" || (target.matches && target.matches("[data-select-all]"))) updateCount();
  });
})();
