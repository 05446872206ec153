// Follows a job on its page: polls the JSON API with the session cookie and reloads the page when the
// job ends, so its result, error or problems show.
"use strict";

(() => {
  const live = document.getElementById("job-live");
  if (!live) return;
  const jobId = live.dataset.jobId;
  const status = document.getElementById("job-status");
  const FINAL = new Set(["succeeded", "failed", "cancelled"]);
  const INTERVAL_MS = 1000;
  let failures = 0;

  const poll = async () => {
    try {
      const answer = await fetch(`/api/v1/jobs/${encodeURIComponent(jobId)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const job = await answer.json();
      failures = 0;
      const text = job.status === "queued" ? "Queued: waiting for a worker." : job.status === "running" ? "Running." : `The job ended (${job.status}); loading its page.`;
      // Only changed text is written, so screen readers announce a change, not every poll.
      if (status.textContent.trim() !== text) status.textContent = text;
      live.dataset.status = job.status;
      if (FINAL.has(job.status)) {
        window.location.reload();
        return;
      }
    } catch (error) {
      failures += 1;
      if (failures >= 5) {
        status.textContent = "The job's state could not be fetched; reload the page to see it.";
        return;
      }
    }
    window.setTimeout(poll, INTERVAL_MS);
  };

  window.setTimeout(poll, INTERVAL_MS);
})();
