// Progressive enhancement only: every form posts and every page renders without this script.
"use strict";

// Live counts: refresh the status tiles on the order list every few seconds.
function liveCounts() {
  const box = document.querySelector("[data-live-counts]");
  if (!box) return;
  const url = box.getAttribute("data-live-counts");
  const refresh = async () => {
    try {
      const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) return;
      const data = await res.json();
      box.querySelectorAll("[data-count]").forEach((el) => {
        const name = el.getAttribute("data-count");
        const value = String(name === "__total__" ? data.total : data.counts[name] || 0);
        if (el.textContent !== value) {
          el.textContent = value;
          el.classList.remove("changed");
          void el.offsetWidth; // restart the highlight animation
          el.classList.add("changed");
        }
      });
    } catch (_) { /* offline for a moment: try again on the next tick */ }
  };
  setInterval(() => { if (!document.hidden) refresh(); }, 5000);
}

// Inline actions: post the form with fetch and show the API's answer (or its refusal) in place.
function inlineActions() {
  const result = document.querySelector(".action-result");
  document.querySelectorAll("form[data-inline]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      const question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); return; }
      if (!result || !window.fetch) return; // fall back to a normal post
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        const res = await fetch(form.action, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        let body = {};
        try { body = await res.json(); } catch (_) { body = { message: res.statusText }; }
        const message = body.message || (res.ok ? "Done" : "Request failed");
        result.className = "action-result flash " + (res.ok ? "flash-ok" : "flash-error");
        result.setAttribute("role", res.ok ? "status" : "alert");
        result.textContent = res.ok ? message : "Refused: " + message;
        if (res.ok) setTimeout(() => window.location.reload(), 700);
      } catch (err) {
        result.className = "action-result flash flash-error";
        result.textContent = "Network error: " + err;
      } finally {
        if (button) button.disabled = false;
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => { liveCounts(); inlineActions(); });
