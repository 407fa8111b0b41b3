// The checkpoint page: scan (where the browser can) or paste a code, verify it, show the decision large.
// Online it asks the gateway; with the network down it decides itself from the signed offline snapshot
// (Offline, bundled from src/), queues the decision, and uploads the queue once the network is back.
"use strict";
(() => {
  const DECISIONS = { DECISION_PASS: "通过 PASS", DECISION_DENY: "禁止 DENY", DECISION_CHECK_MANUALLY: "人工核验 CHECK" };
  const COLOURS = { COLOUR_GREEN: "green", COLOUR_YELLOW: "yellow", COLOUR_RED: "red", 1: "green", 2: "yellow", 3: "red" };
  const SYNC_SECONDS = 60, UPLOAD_SECONDS = 15;
  const verdict = document.getElementById("verdict");
  const errorLine = document.getElementById("error");
  const payload = document.getElementById("payload");
  const area = document.getElementById("area");
  const network = document.getElementById("network");
  const snapshotLine = document.getElementById("snapshot");
  const queueLine = document.getElementById("queue");
  let clearTimer;
  let reachable = navigator.onLine;
  Session.startClock(document.getElementById("clock"));
  area.value = localStorage.getItem("healthcode.checkpoint.area") || "";

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/checkpoint-sw.js").catch(() => {});
  const provisioning = Session.fragment;
  const ready = Offline.Device.open({
    anchor: provisioning.get("anchor") || "",
    maxAgeHours: Number(provisioning.get("max_age_hours")) || Offline.DEFAULT_MAX_AGE_HOURS,
  }).catch((error) => { console.warn("offline store unavailable", error); return null; });

  const online = () => navigator.onLine && reachable;
  // Network failures (no answer at all) mean offline; an HTTP error is an answer.
  async function call(method, path, body) {
    try {
      const answer = await Session.call(method, path, body);
      reachable = true;
      return answer;
    } catch (error) {
      if (error.status === undefined) reachable = false;
      throw error;
    } finally { show(); }
  }

  async function show() {
    network.dataset.state = online() ? "online" : "offline";
    network.textContent = online() ? "在线 online" : "离线 offline";
    const device = await ready;
    if (!device) { snapshotLine.textContent = "not provisioned for offline use"; return; }
    snapshotLine.dataset.version = String(device.version);
    if (device.issueMs) {
      const minutes = Math.max(0, Math.round((Date.now() - device.issueMs) / 60000));
      snapshotLine.textContent = `snapshot v${device.version}, ${minutes} min old`;
      snapshotLine.dataset.old = String(Date.now() - device.issueMs > device.maxAgeMs);
    } else {
      snapshotLine.textContent = "no offline snapshot yet";
    }
    const pending = (await device.queued()).length;
    queueLine.dataset.count = String(pending);
    queueLine.textContent = pending ? `${pending} decisions to upload` : "";
  }

  async function syncSnapshot() {
    const device = await ready;
    if (!device || !navigator.onLine) return null;
    try {
      return await device.sync(call);
    } catch (error) {
      console.warn("snapshot sync failed", error);
      return null;
    } finally { show(); }
  }

  async function uploadQueue() {
    const device = await ready;
    if (!device || !navigator.onLine) return 0;
    try { return await device.upload(call); } catch { return 0; } finally { show(); }
  }

  function render(answer, offline) {
    verdict.dataset.decision = answer.decision;
    verdict.dataset.reason = answer.reason || "";
    verdict.dataset.offline = String(offline);
    verdict.querySelector(".decision").textContent = DECISIONS[answer.decision] || answer.decision;
    const colour = COLOURS[answer.colour];
    const display = answer.display_colour || answer.displayColour || "";
    verdict.querySelector(".detail").textContent = [answer.masked_name || answer.maskedName, colour,
      display !== colour ? display : "", answer.reason, answer.issuer_province_code || answer.issuerProvince,
      offline ? "offline" : ""].filter(Boolean).join(" · ");
  }

  async function verifyOffline(text, areaCode, temperature, testWithin) {
    const device = await ready;
    if (!device) throw new Error("offline and not provisioned for offline checks: check manually");
    const answer = await device.verify(text, { temperature, testWithinHours: testWithin });
    await device.record(answer, areaCode);
    return answer;
  }

  async function verify() {
    errorLine.textContent = "";
    const text = payload.value.trim();
    const body = { payload: text, area_code: area.value.trim() };
    const temperature = document.getElementById("temperature").value.trim();
    const testWithin = Number(document.getElementById("test-within").value.trim()) || null;
    if (temperature) body.temperature_celsius = Number(temperature);
    if (testWithin) body.negative_test_within_hours = testWithin;
    localStorage.setItem("healthcode.checkpoint.area", body.area_code);
    try {
      let answer = null;
      if (online()) {
        try {
          answer = await call("POST", "/v1/verifications", body);
          render(answer, false);
        } catch (error) {
          if (error.status !== undefined) throw error;
        }
      }
      if (answer === null) {
        render(await verifyOffline(text, body.area_code, temperature ? Number(temperature) : null, testWithin), true);
      }
    } catch (error) {
      verdict.dataset.decision = "";
      errorLine.textContent = error.message;
    }
    show();
    payload.value = "";
    clearTimeout(clearTimer);
    // The next person must not see this one's verdict.
    clearTimer = setTimeout(() => { verdict.dataset.decision = ""; }, 8000);
  }

  document.getElementById("verify").addEventListener("submit", (event) => { event.preventDefault(); verify(); });
  window.addEventListener("online", () => { reachable = true; uploadQueue(); syncSnapshot(); });
  window.addEventListener("offline", show);
  setInterval(syncSnapshot, SYNC_SECONDS * 1000);
  setInterval(() => { uploadQueue(); show(); }, UPLOAD_SECONDS * 1000);
  const firstSync = syncSnapshot().then(() => uploadQueue());
  // For tests and the benchmark page: the same device the page uses.
  window.Checkpoint = { ready, firstSync, sync: syncSnapshot, upload: uploadQueue, show,
    verifyOffline: async (text, options) => (await ready).verify(text, options) };

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
