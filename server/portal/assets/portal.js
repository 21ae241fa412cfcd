// Rollcall admin portal: progressive enhancement only. Every page works without this file;
// with it: Copy buttons, a live request log, a live mapping preview and apply progress.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

function setUpCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy-target]")) {
    button.addEventListener("click", async () => {
      const id = button.getAttribute("data-copy-target");
      const input = document.getElementById(id);
      const status = document.querySelector(`[data-copy-status-for="${id}"]`);
      if (!input) return;
      let copied = false;
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch {
        input.select();
        copied = document.execCommand("copy");
      }
      if (status) status.textContent = copied ? "Copied to the clipboard." : "Select the text and copy it with your keyboard.";
    });
  }
}

function setUpLiveLog() {
  const body = document.getElementById("log-rows");
  if (!body) return;
  const live = document.getElementById("log-live");
  if (live) live.textContent = "Live: new requests appear automatically.";
  let newest = body.getAttribute("data-newest") ?? "";
  const base = body.getAttribute("data-poll-url");
  const poll = async () => {
    try {
      const page = await getJson(`${base}&after=${encodeURIComponent(newest)}`);
      if (page.count > 0) {
        body.insertAdjacentHTML("afterbegin", page.html);
        newest = page.newest;
        document.querySelector(".empty")?.remove();
        if (live) live.textContent = `${page.count} new request(s) arrived.`;
      }
    } catch {
      if (live) live.textContent = "Live updates paused (connection problem); reload the page to resume.";
      return;
    }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
}

function setUpMappingPreview() {
  const form = document.getElementById("mapping-form");
  const target = document.getElementById("mapping-preview");
  if (!form || !target) return;
  const textarea = document.getElementById("mapping-document");
  const user = document.getElementById("preview-user");
  const errors = document.getElementById("mapping-errors");
  let timer;
  let sequence = 0;
  const refresh = async () => {
    const mine = ++sequence;
    try {
      const result = await postJson(target.getAttribute("data-preview-url"), { mapping: textarea.value, user_id: user.value });
      if (mine !== sequence) return;
      target.innerHTML = result.html;
      errors.replaceChildren();
      if (result.problems.length > 0) {
        const list = document.createElement("ul");
        for (const problem of result.problems) {
          const item = document.createElement("li");
          item.textContent = problem;
          list.append(item);
        }
        errors.append(list);
        textarea.setAttribute("aria-invalid", "true");
      } else {
        textarea.removeAttribute("aria-invalid");
      }
    } catch {
      // The server-side Preview button still works.
    }
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  };
  textarea.addEventListener("input", later);
  user.addEventListener("change", refresh);
}

function setUpApplyProgress() {
  const target = document.getElementById("apply-progress");
  if (!target) return;
  const url = target.getAttribute("data-progress-url");
  const poll = async () => {
    try {
      const progress = await getJson(url);
      target.innerHTML = progress.html;
      if (!progress.done) setTimeout(poll, 1500);
    } catch {
      // Reloading the page shows the current state.
    }
  };
  setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons();
  setUpLiveLog();
  setUpMappingPreview();
  setUpApplyProgress();
});
