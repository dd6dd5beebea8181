// The ticket page: composer keys and modes, collision awareness (presence heartbeat, new
// messages shown while you write), and focusing a control from the URL hash (#reply, #note,
// #assign — the inbox's r / n / a shortcuts link there). No inline script: CSP forbids it.
(function () {
  "use strict";
  const HEARTBEAT_MS = 5000;
  const POLL_MS = 5000;
  const root = document.getElementById("ticket-page");
  if (!root) return;

  function $(id) { return document.getElementById(id); }
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  function composer() { return $("composer"); }
  function draft() { return $("composer-body"); }
  function kind() {
    const checked = composer() && composer().querySelector('input[name="kind"]:checked');
    return checked ? checked.value : "note";
  }
  function typing() { const box = draft(); return box && box.value.trim() ? kind() : ""; }

  // ---- composer: reply or note, Ctrl+Enter -------------------------------------------
  function syncKind() {
    const form = composer();
    if (!form) return;
    const note = kind() === "note";
    form.classList.toggle("is-note", note);
    form.querySelectorAll("[data-reply-only]").forEach(function (button) { button.hidden = note; });
    const send = $("composer-send");
    if (send) send.textContent = note ? send.dataset.noteLabel : send.dataset.replyLabel;
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "kind" && composer() && composer().contains(event.target)) {
      syncKind();
      if (typing()) beat();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target === draft()) {
      event.preventDefault();
      composer().requestSubmit();
    }
  });

  // ---- #reply / #note / #assign ------------------------------------------------------
  function focusFromHash() {
    const hash = window.location.hash;
    if (hash === "#reply" || hash === "#note") {
      const radio = $("composer-kind-" + hash.slice(1)) || $("composer-kind-note");
      if (radio) { radio.checked = true; syncKind(); }
      if (draft()) { draft().focus(); draft().scrollIntoView({block: "center"}); }
    } else if (hash === "#assign") {
      const select = $("prop-assignee");
      if (select) { select.focus(); select.scrollIntoView({block: "center"}); }
    }
  }
  window.addEventListener("hashchange", focusFromHash);

  // ---- presence: who else is here, who is typing -------------------------------------
  let sentTyping = null;
  let shownPresence = null;
  let beating = false;
  function beat() {
    if (beating) return;
    beating = true;
    sentTyping = typing();
    const data = new URLSearchParams({typing: sentTyping});
    fetch(root.dataset.presenceUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken()},
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      // Replace only on change, so screen readers announce arrivals, not every heartbeat.
      if (html !== null && html !== shownPresence) {
        shownPresence = html;
        $("presence").innerHTML = html;  // server-rendered, escaped by Django templates
      }
    }).catch(function () { /* offline for a moment: the next heartbeat retries */ })
      .finally(function () { beating = false; });
  }
  document.addEventListener("input", function (event) {
    if (event.target === draft() && typing() !== sentTyping) beat();
  });
  window.addEventListener("pagehide", function () {
    const data = new FormData();
    data.append("leave", "1");
    data.append("csrfmiddlewaretoken", csrfToken());
    navigator.sendBeacon(root.dataset.presenceUrl, data);
  });

  // ---- new messages while you are here -----------------------------------------------
  function newestShown() {
    let newest = 0;
    document.querySelectorAll("#message-list [data-message-id]").forEach(function (item) {
      newest = Math.max(newest, Number(item.dataset.messageId));
    });
    return newest;
  }
  function poll() {
    if (typeof htmx === "undefined") return;
    htmx.ajax("GET", root.dataset.newMessagesUrl + "?after=" + newestShown(),
      {target: "#incoming", swap: "innerHTML"});
  }
  function adoptIncoming() {
    const incoming = $("incoming");
    const list = $("message-list");
    const authors = [];
    let fromCustomer = false;
    Array.from(incoming.children).forEach(function (item) {
      const id = item.dataset.messageId;
      if (!id || list.querySelector('[data-message-id="' + id + '"]')) return;  // already shown
      list.appendChild(item);
      if (authors.indexOf(item.dataset.author) === -1) authors.push(item.dataset.author);
      fromCustomer = fromCustomer || item.dataset.fromCustomer === "1";
    });
    incoming.innerHTML = "";
    if (!authors.length) return;
    const seen = $("seen-message-id");
    if (seen) seen.value = String(newestShown());  // it is on screen now: the agent has it in front of them
    const notice = $("new-message-notice");
    const writing = typing() !== "";
    notice.textContent = "New message from " + authors.join(", ") + " (marked “New” above)" +
      (writing && fromCustomer ? " — read it before you send your reply." : ".");
    notice.hidden = false;
  }
  // A customer message can change the status (pending → open): the poll brings the side panel
  // along, but never replaces it under an agent who is using it.
  document.body.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "ticket-properties") return;
    const tagInput = $("prop-tag-add");
    if (target.contains(document.activeElement) || (tagInput && tagInput.value)) {
      event.detail.shouldSwap = false;
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target && target.id === "incoming") adoptIncoming();
    if (target && target.id === "composer") {  // sent: a fresh composer
      $("new-message-notice").hidden = true;
      syncKind();
      beat();
    }
  });

  syncKind();
  focusFromHash();
  beat();
  window.setInterval(beat, HEARTBEAT_MS);
  window.setInterval(poll, POLL_MS);
})();
