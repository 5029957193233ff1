// The camera wall: each tile asks for its frame every few seconds with If-None-Match (the
// browser's cache revalidates with the frame's ETag), so an unchanged frame costs a 304 and
// no download. A hidden tab does not poll.
(function () {
  "use strict";
  const tiles = Array.from(document.querySelectorAll(".tile"));
  const refresh = document.getElementById("refresh");
  let timer = null;

  function age(seconds) {
    if (seconds < 60) return Math.max(0, Math.round(seconds)) + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }

  function showAges() {
    const now = Date.now() / 1000;
    for (const tile of tiles) {
      const at = parseFloat(tile.dataset.capturedAt);
      if (!isNaN(at)) tile.querySelector(".age").textContent = age(now - at);
    }
  }

  async function update(tile) {
    let response;
    try {
      response = await fetch(tile.dataset.frame, { cache: "no-cache", credentials: "same-origin" });
    } catch (error) {
      return; // the server is away: keep the last frame
    }
    const status = response.headers.get("X-Camera-Status");
    if (status && status !== tile.dataset.status) {
      tile.classList.remove("status-" + tile.dataset.status);
      tile.classList.add("status-" + status);
      tile.dataset.status = status;
      tile.querySelector(".badge").textContent = status;
    }
    const problem = tile.querySelector(".problem");
    if (problem && response.headers.has("X-Camera-Problem")) {
      problem.textContent = decodeURIComponent(response.headers.get("X-Camera-Problem"));
      problem.hidden = problem.textContent === "";
    }
    const placeholder = tile.querySelector(".no-frame");
    if (response.status === 204) {
      placeholder.textContent = "No frame yet";
      return;
    }
    const etag = response.headers.get("ETag");
    if (!response.ok || etag === tile.dataset.etag) return;
    const image = tile.querySelector("img");
    const previous = image.src;
    image.src = URL.createObjectURL(await response.blob());
    if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
    image.hidden = false;
    placeholder.hidden = true;
    tile.dataset.etag = etag;
    tile.dataset.capturedAt = response.headers.get("X-Frame-Captured-At");
    showAges();
  }

  function round() {
    if (!document.hidden) tiles.forEach(update);
  }

  function schedule() {
    clearInterval(timer);
    const seconds = refresh ? parseInt(refresh.value, 10) : parseInt(document.body.dataset.refresh || "5", 10);
    timer = setInterval(round, seconds * 1000);
  }

  if (refresh) refresh.addEventListener("change", schedule);
  document.addEventListener("vas:refresh", round);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) round(); });
  setInterval(showAges, 1000);
  round();
  schedule();
})();
