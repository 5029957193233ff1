// A camera's page and the snapshot viewer: "Capture now" and "keep" through the API (the
// session's login and its CSRF token), the arrow keys for newer and older snapshots.
(function () {
  "use strict";
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]");

  function call(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  const capture = document.getElementById("capture");
  if (capture) {
    capture.addEventListener("click", async function () {
      const result = document.getElementById("capture-result");
      capture.disabled = true;
      result.textContent = "Capturing…";
      try {
        const response = await call("POST", capture.dataset.url);
        const body = await response.json();
        if (!response.ok) {
          result.textContent = body.detail || "The capture failed.";
          return;
        }
        result.textContent = "Captured.";
        const thumbs = document.getElementById("thumbs");
        const empty = thumbs.querySelector(".empty");
        if (empty) empty.remove();
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = thumbs.dataset.viewer.replace("00000000-0000-0000-0000-000000000000", body.id);
        const image = document.createElement("img");
        image.src = body.urls.thumbnail;
        image.width = 160;
        image.height = 90;
        image.alt = body.device.name + " at " + body.captured_at;
        const time = document.createElement("span");
        // The API's time is the server's local time, as the page's other times: its HH:MM:SS.
        time.textContent = body.captured_at.slice(11, 19);
        link.append(image, time);
        item.append(link);
        thumbs.prepend(item);
        document.dispatchEvent(new Event("vas:refresh")); // the large frame shows it now
      } catch (error) {
        result.textContent = "The server did not answer.";
      } finally {
        capture.disabled = false;
      }
    });
  }

  const keep = document.getElementById("keep");
  if (keep) {
    keep.addEventListener("change", async function () {
      const result = document.getElementById("keep-result");
      const response = await call("PATCH", keep.dataset.url, { keep: keep.checked });
      if (response.ok) {
        result.textContent = keep.checked ? "Kept." : "Under retention again.";
      } else {
        keep.checked = !keep.checked;
        result.textContent = "Not changed.";
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, select, textarea")) return;
    const target = { ArrowLeft: "newer", ArrowRight: "older" }[event.key];
    const link = target && document.getElementById(target);
    if (link) link.click();
  });
})();
