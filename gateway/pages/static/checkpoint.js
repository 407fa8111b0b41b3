// The checkpoint page: scan (where the browser can) or paste a code, verify it, show the decision large.
"use strict";
(() => {
  const DECISIONS = { DECISION_PASS: "通过 PASS", DECISION_DENY: "禁止 DENY", DECISION_CHECK_MANUALLY: "人工核验 CHECK" };
  const COLOURS = { COLOUR_GREEN: "green", COLOUR_YELLOW: "yellow", COLOUR_RED: "red" };
  const verdict = document.getElementById("verdict");
  const errorLine = document.getElementById("error");
  const payload = document.getElementById("payload");
  const area = document.getElementById("area");
  let clearTimer;
  Session.startClock(document.getElementById("clock"));
  area.value = localStorage.getItem("healthcode.checkpoint.area") || "";

  async function verify() {
    errorLine.textContent = "";
    const body = { payload: payload.value.trim(), area_code: area.value.trim() };
    const temperature = document.getElementById("temperature").value.trim();
    if (temperature) body.temperature_celsius = Number(temperature);
    localStorage.setItem("healthcode.checkpoint.area", body.area_code);
    try {
      const answer = await Session.call("POST", "/v1/verifications", body);
      verdict.dataset.decision = answer.decision;
      verdict.querySelector(".decision").textContent = DECISIONS[answer.decision] || answer.decision;
      const colour = COLOURS[answer.colour];
      const display = answer.display_colour !== colour ? answer.display_colour : "";
      verdict.querySelector(".detail").textContent = [answer.masked_name, colour, display, answer.reason,
        answer.issuer_province_code].filter(Boolean).join(" · ");
    } catch (error) {
      verdict.dataset.decision = "";
      errorLine.textContent = error.message;
    }
    payload.value = "";
    clearTimeout(clearTimer);
    // The next person must not see this one's verdict.
    clearTimer = setTimeout(() => { verdict.dataset.decision = ""; }, 8000);
  }

  document.getElementById("verify").addEventListener("submit", (event) => { event.preventDefault(); verify(); });

  // A camera scanner where the browser has one (BarcodeDetector); pasting always works.
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    const video = document.getElementById("camera");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(async (stream) => {
      video.srcObject = stream; video.hidden = false; await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      let last = "";
      setInterval(async () => {
        const found = await detector.detect(video).catch(() => []);
        if (found.length && found[0].rawValue !== last) { last = found[0].rawValue; payload.value = last; verify(); }
      }, 300);
    }).catch(() => {});
  }
})();
