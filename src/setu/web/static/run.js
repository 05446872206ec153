// Follows a stress run on its page: polls the JSON API with the session cookie, updates the progress
// bar and status line, and reloads the page when the run ends so its results (or error) show.
"use strict";

(() => {
  const live = document.getElementById("run-live");
  if (!live) return;
  const runId = live.dataset.runId;
  const bar = document.getElementById("run-progress");
  const count = document.getElementById("run-count");
  const status = document.getElementById("run-status");
  const FINAL = new Set(["completed", "failed", "cancelled"]);
  const INTERVAL_MS = 1000;
  let failures = 0;

  const describe = (run) => {
    if (run.status === "queued") return "Queued: waiting to start.";
    if (run.status === "running") return `Running: ${run.done} of ${run.total} scenarios computed.`;
    return `The run ended (${run.status}); loading its page.`;
  };

  const poll = async () => {
    try {
      const answer = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const run = await answer.json();
      failures = 0;
      bar.max = Math.max(run.total, 1);
      bar.value = run.done;
      bar.textContent = `${Math.round((100 * run.done) / Math.max(run.total, 1))}%`;
      count.textContent = `${run.done} of ${run.total}`;
      const text = describe(run);
      // Only changed text is written, so screen readers announce progress, not every poll.
      if (status.textContent.trim() !== text) status.textContent = text;
      live.dataset.status = run.status;
      if (FINAL.has(run.status)) {
        window.location.reload();
        return;
      }
    } catch (error) {
      failures += 1;
      if (failures >= 5) {
        status.textContent = "Progress could not be fetched; reload the page to see the run's state.";
        return;
      }
    }
    window.setTimeout(poll, INTERVAL_MS);
  };

  window.setTimeout(poll, INTERVAL_MS);
})();
