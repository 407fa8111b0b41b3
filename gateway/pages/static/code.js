// The person's page: their code and their dependents' codes, each refreshed before it expires.
"use strict";
(() => {
  const COLOUR_NAMES = { COLOUR_GREEN: "绿码 Green", COLOUR_YELLOW: "黄码 Yellow", COLOUR_RED: "红码 Red" };
  const codes = document.getElementById("codes");
  const errorLine = document.getElementById("error");
  const timers = new Map();
  Session.startClock(document.getElementById("clock"));

  function time(text) {
    return text ? new Date(text).toLocaleString("zh-CN", { hour12: false }) : "—";
  }

  function card(personId) {
    let element = codes.querySelector(`[data-person="${personId}"]`);
    if (!element) {
      element = document.getElementById("code-card").content.firstElementChild.cloneNode(true);
      element.dataset.person = personId;
      codes.appendChild(element);
    }
    return element;
  }

  async function show(personId) {
    clearTimeout(timers.get(personId));
    const element = card(personId);
    try {
      const code = await Session.call("GET", `/v1/persons/${encodeURIComponent(personId)}/code`);
      element.dataset.colour = code.colour;
      element.querySelector(".name").textContent = code.masked_name;
      const qr = element.querySelector(".qr");
      qr.innerHTML = code.qr_svg;
      qr.setAttribute("aria-label", "health code QR");
      qr.dataset.payload = code.payload;
      // A province's own colour (orange, purple) is shown beside the national one when it differs.
      const national = code.colour.replace("COLOUR_", "").toLowerCase();
      const display = code.display_colour && code.display_colour !== national ? ` · ${code.display_colour}` : "";
      element.querySelector(".colour").textContent = (COLOUR_NAMES[code.colour] || code.colour) + display;
      element.querySelector(".status-time").textContent = time(code.status_time);
      element.querySelector(".valid-until").textContent = time(code.valid_until_time);
      countdown(element, code.refresh_in_seconds);
      timers.set(personId, setTimeout(() => show(personId), code.refresh_in_seconds * 1000));
      errorLine.textContent = "";
    } catch (error) {
      // Never leave an expired code on screen: blank it and retry shortly.
      element.querySelector(".qr").innerHTML = "";
      element.dataset.colour = "";
      errorLine.textContent = error.message;
      if (error.status === 401) { Session.forget(); return start(); }
      timers.set(personId, setTimeout(() => show(personId), 5000));
    }
  }

  function countdown(element, seconds) {
    const target = Date.now() + seconds * 1000;
    clearInterval(element.countdown);
    const tick = () => {
      element.querySelector(".countdown").textContent = Math.max(0, Math.round((target - Date.now()) / 1000)) + " s";
    };
    tick();
    element.countdown = setInterval(tick, 1000);
  }

  async function start() {
    if (!Session.signedIn()) {
      document.getElementById("signin").hidden = false;
      return;
    }
    document.getElementById("signin").hidden = true;
    try {
      const me = await Session.call("GET", "/v1/persons/me");
      await show(me.person.person_id);
      const links = await Session.call("GET", "/v1/persons/me/dependents");
      for (const link of links.links || []) await show(link.dependent.person_id);
    } catch (error) {
      errorLine.textContent = error.message;
      if (error.status === 401) { Session.forget(); document.getElementById("signin").hidden = false; }
    }
  }

  document.getElementById("dev-signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const session = await Session.call("POST", "/dev/sessions", { person_id: document.getElementById("dev-person").value.trim() });
      Session.keep(session.token);
      start();
    } catch (error) {
      document.getElementById("signin-error").textContent = error.status === 404 && !error.reason
        ? "development sign-in is off on this platform" : error.message;
    }
  });
  start();
})();
