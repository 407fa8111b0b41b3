// The person's page: their code and their dependents' codes (one tap away each), why each is the
// colour it is, what to do about it (check in, appeal, history), the 14-day itinerary card and the
// family links. Every sentence comes from one catalogue (messages.json), Chinese first, English beside.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const codes = $("codes");
  const errorLine = $("error");
  const timers = new Map();
  const state = { me: null, people: [], selected: null, messages: null, areas: {} };
  Session.startClock($("clock"));

  // --- words ------------------------------------------------------------------------------

  const BEIJING = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  function time(text) {
    return text ? BEIJING.format(new Date(text)) : "—";
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, name) => (values[name] === undefined ? "" : String(values[name])));
  }

  // A catalogue entry as two spans, each with its own lang: Chinese first, English beside.
  function both(entry, values = {}, tag = "span") {
    const fragment = document.createDocumentFragment();
    for (const lang of ["zh", "en"]) {
      const element = document.createElement(tag);
      element.lang = lang === "zh" ? "zh-CN" : "en";
      element.textContent = fill(entry[lang], values);
      fragment.append(element, lang === "zh" ? " " : "");
    }
    return fragment;
  }

  function words(table, key) {
    return state.messages[table][key] || { zh: key, en: key };
  }

  function areaName(code) {
    return code ? `${state.areas[code] || code}（${code}）` : "";
  }

  // One reason in force: what it is, since when, and until when or what ends it.
  function reasonItem(reason) {
    const messages = state.messages;
    const entry = messages.reasons[reason.code]
      || { zh: fill(messages.phrases.unknown_reason.zh, reason), en: fill(messages.phrases.unknown_reason.en, reason) };
    const item = document.createElement("li");
    item.className = "reason";
    item.dataset.code = reason.code;
    const values = { area: areaName(reason.detail), detail: reason.detail || "" };
    for (const lang of ["zh", "en"]) {
      const line = document.createElement("p");
      line.lang = lang === "zh" ? "zh-CN" : "en";
      const parts = [fill(entry[lang], values).replace(/[。.]$/, "")];
      if (reason.since_time) parts.push(fill(messages.phrases.since[lang], { time: time(reason.since_time) }));
      parts.push(ending(reason, entry, lang));
      line.textContent = parts.filter(Boolean).join(lang === "zh" ? "，" : "; ") + (lang === "zh" ? "。" : ".");
      item.append(line);
    }
    return item;
  }

  function ending(reason, entry, lang) {
    const phrases = state.messages.phrases;
    const progress = reason.release_progress || {};
    const ends = [];
    if (progress.check_ins_required) {
      const done = progress.check_ins_done || 0;
      ends.push(fill(phrases.check_ins[lang], { required: progress.check_ins_required, done,
        left: progress.check_ins_required - done,
        consecutive: progress.check_ins_consecutive ? phrases.consecutive[lang] : "" }));
    }
    if (progress.negative_tests_required) {
      const done = progress.negative_tests_done || 0;
      ends.push(fill(phrases.tests[lang], { required: progress.negative_tests_required, done,
        left: progress.negative_tests_required - done }));
    }
    if (reason.until_time) ends.push(fill(phrases.until[lang], { time: time(reason.until_time) }));
    else if (!ends.length) ends.push(entry.ends ? entry.ends[lang] : phrases.open[lang]);
    return ends.join(lang === "zh" ? "，" : "; ");
  }

  function ruleSet(status) {
    const phrases = state.messages.phrases;
    const line = document.createDocumentFragment();
    if (!status.rule_set_version) return line;
    for (const lang of ["zh", "en"]) {
      const span = document.createElement("span");
      span.lang = lang === "zh" ? "zh-CN" : "en";
      const name = status.rule_set_province_code === "000000" ? phrases.national_rules[lang]
        : status.rule_set_name || areaName(status.rule_set_province_code);
      span.textContent = fill(phrases.rule_set[lang], { name, version: status.rule_set_version });
      line.append(span, " ");
    }
    return line;
  }

  // --- the codes --------------------------------------------------------------------------

  function card(personId) {
    let element = codes.querySelector(`[data-person="${personId}"]`);
    if (!element) {
      element = $("code-card").content.firstElementChild.cloneNode(true);
      element.dataset.person = personId;
      codes.appendChild(element);
    }
    element.hidden = personId !== state.selected;
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
      qr.innerHTML = code.qr_svg;  // the box keeps its size: a new code never moves the page
      qr.setAttribute("aria-label", "health code QR 健康码二维码");
      qr.dataset.payload = code.payload;
      const colour = words("colours", code.colour);
      element.querySelector(".colour-zh").textContent = colour.zh;
      element.querySelector(".colour-en").textContent = colour.en;
      // A province's own colour (orange, purple) is shown beside the national one when it differs.
      const national = code.colour.replace("COLOUR_", "").toLowerCase();
      element.querySelector(".colour").textContent =
        code.display_colour && code.display_colour !== national ? code.display_colour : "";
      element.querySelector(".status-time").textContent = time(code.status_time);
      element.querySelector(".valid-until").textContent = time(code.valid_until_time);
      why(element, code.status || { reasons: code.reasons });
      countdown(element, code.refresh_in_seconds);
      timers.set(personId, setTimeout(() => show(personId), code.refresh_in_seconds * 1000));
      errorLine.textContent = "";
    } catch (error) {
      // Never leave an expired code on screen: blank it (the box stays) and retry shortly.
      element.querySelector(".qr").innerHTML = "";
      element.dataset.colour = "";
      errorLine.textContent = error.message;
      if (error.status === 401) { Session.forget(); return start(); }
      timers.set(personId, setTimeout(() => show(personId), 5000));
    }
  }

  function why(element, status) {
    const list = element.querySelector(".reasons");
    list.replaceChildren(...(status.reasons || []).map(reasonItem));
    if (!list.children.length) {
      const item = document.createElement("li");
      item.append(both(state.messages.phrases.no_reasons));
      list.append(item);
    }
    element.querySelector(".rule-set").replaceChildren(ruleSet(status));
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

  // The person and each dependent: one tap selects whose code, reasons and actions are shown.
  function peopleBar() {
    const bar = $("people");
    bar.replaceChildren(...state.people.map((person) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.person = person.id;
      button.setAttribute("aria-pressed", String(person.id === state.selected));
      button.append(person.id === state.me.person_id ? both({ zh: "本人", en: "Me" }) : person.label);
      button.addEventListener("click", () => select(person.id));
      return button;
    }));
    bar.hidden = state.people.length < 2;
  }

  function select(personId) {
    state.selected = personId;
    for (const element of codes.children) element.hidden = element.dataset.person !== personId;
    peopleBar();
    $("history").hidden = true;
    route();
  }

  // --- what to do ---------------------------------------------------------------------------

  function requestId() {
    return crypto.randomUUID();
  }

  function outcome(form, error, done) {
    const line = form.querySelector(".outcome");
    line.classList.toggle("error", Boolean(error));
    line.textContent = error ? error.message : done;
  }

  function symptomBoxes() {
    const box = $("symptoms");
    for (const [name, entry] of Object.entries(state.messages.symptoms)) {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = name;
      label.append(input, " ", both(entry));
      box.append(label);
    }
  }

  function options(select, table, skip = "_UNSPECIFIED") {
    for (const [name, entry] of Object.entries(state.messages[table])) {
      if (name.endsWith(skip)) continue;
      const option = document.createElement("option");
      option.value = name;
      option.textContent = `${entry.zh} · ${entry.en}`;
      select.append(option);
    }
  }

  $("check-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const symptoms = [...form.querySelectorAll("#symptoms input:checked")].map((input) => input.value);
    try {
      await Session.call("POST", `/v1/persons/${state.selected}/check-ins`, {
        reporter_person_id: state.me.person_id, temperature_celsius: Number($("temperature").value),
        symptoms, request_id: requestId() });
      form.reset();
      outcome(form, null, "已打卡 Checked in");
      await show(state.selected);
    } catch (error) { outcome(form, error); }
  });

  $("appeal").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const evidence = $("appeal-evidence").value.split("\n").map((line) => line.trim()).filter(Boolean);
    try {
      const filed = await Session.call("POST", `/v1/persons/${state.selected}/appeals`, {
        filer_person_id: state.me.person_id, category: $("appeal-category").value,
        statement: $("appeal-statement").value, evidence_refs: evidence, request_id: requestId() });
      form.reset();
      const appeal = filed.appeal;
      outcome(form, null, `已提交，${time(appeal.deadline_time)}前答复 · Filed; a decision is due by ${time(appeal.deadline_time)}`);
      form.querySelector(".outcome").dataset.appeal = appeal.appeal_id;
    } catch (error) { outcome(form, error); }
  });

  // Every change as ListStatusChanges returns it: colours, cause, rule set, officers, legal basis,
  // and whatever else a change carries, shown generically.
  const SHOWN = new Set(["version", "change_time", "previous_colour", "colour", "display_colour", "reasons", "cause",
    "rule_set_province_code", "rule_set_version", "officer_ids", "legal_basis"]);
  async function history() {
    const list = $("history-list");
    const answer = await Session.call("GET", `/v1/persons/${state.selected}/status-changes?page_size=50`);
    list.replaceChildren(...(answer.changes || []).map((change) => {
      const item = document.createElement("li");
      item.className = "change";
      const head = document.createElement("p");
      head.append(`${time(change.change_time)} · `, both(words("colours", change.colour || "COLOUR_UNSPECIFIED")),
        " · ", both(words("causes", change.cause || "CHANGE_CAUSE_UNSPECIFIED")));
      item.append(head);
      const reasons = document.createElement("ul");
      reasons.append(...(change.reasons || []).map(reasonItem));
      item.append(reasons);
      const facts = document.createElement("dl");
      const add = (term, value) => {
        const dt = document.createElement("dt");
        dt.append(term);
        const dd = document.createElement("dd");
        dd.textContent = value;
        facts.append(dt, dd);
      };
      if (change.rule_set_version) add(both({ zh: "规则", en: "Rules" }), `${change.rule_set_province_code} v${change.rule_set_version}`);
      if ((change.officer_ids || []).length) add(both({ zh: "决定人员", en: "Officers" }), change.officer_ids.join(", "));
      if (change.legal_basis) add(both({ zh: "法律依据", en: "Legal basis" }), change.legal_basis);
      for (const [name, value] of Object.entries(change)) {
        if (!SHOWN.has(name)) add(name, typeof value === "object" ? JSON.stringify(value) : String(value));
      }
      item.append(facts);
      return item;
    }));
  }

  // --- the itinerary card -----------------------------------------------------------------------

  async function itinerary() {
    const answer = await Session.call("GET", `/v1/persons/${state.selected}/stays`);
    const list = $("stays");
    list.replaceChildren(...(answer.stays || []).map((stay) => {
      const item = document.createElement("li");
      item.className = "stay";
      const level = stay.highest_risk_level || "RISK_LEVEL_UNSPECIFIED";
      item.dataset.risk = level;
      item.dataset.area = stay.area_code;
      const place = document.createElement("p");
      place.className = "place";
      place.lang = "zh-CN";
      place.textContent = areaName(stay.area_code);
      const when = document.createElement("p");
      when.textContent = `${time(stay.arrival_time)} – ${time(stay.departure_time)}`;
      const mark = document.createElement("p");
      mark.className = "risk";
      mark.append(both(words("risk_levels", level)));
      if (stay.source === "STAY_SOURCE_DECLARED") {
        mark.append(" · ", both(stay.verified ? { zh: "本人申报，已核实", en: "declared, verified" }
          : { zh: "本人申报", en: "declared" }));
      }
      item.append(place, when, mark);
      return item;
    }));
    if (!list.children.length) {
      const item = document.createElement("li");
      item.append(both({ zh: "近14天没有停留4小时以上的记录。", en: "No stays of 4 hours or more in 14 days." }));
      list.append(item);
    }
  }

  $("declare").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      await Session.call("POST", `/v1/persons/${state.selected}/itinerary`, {
        stays: [{ area_code: $("trip-area").value.trim(),
          arrival_time: new Date($("trip-arrival").value).toISOString(),
          departure_time: new Date($("trip-departure").value).toISOString() }],
        request_id: requestId() });
      form.reset();
      outcome(form, null, "已申报 Declared");
      await itinerary();
    } catch (error) { outcome(form, error); }
  });

  // --- family -------------------------------------------------------------------------------

  function linkItem(link, person) {
    const item = document.createElement("li");
    item.className = "link";
    item.dataset.person = person.person_id;
    item.append(`${person.masked_name || person.person_id} · `, both(words("relations", link.relation)),
      " · ", both(words("link_bases", link.basis)), ` · ${time(link.link_time)}`);
    return item;
  }

  async function family() {
    const [mine, guardians] = await Promise.all([
      Session.call("GET", "/v1/persons/me/dependents"), Session.call("GET", "/v1/persons/me/guardians")]);
    $("links").replaceChildren(...(mine.links || []).map((link) => linkItem(link, link.dependent)));
    $("guardians").replaceChildren(...(guardians.links || []).map(
      (link) => linkItem(link, { person_id: link.holder_person_id, masked_name: link.holder_person_id })));
    for (const list of [$("links"), $("guardians")]) {
      if (!list.children.length) {
        const item = document.createElement("li");
        item.append(both({ zh: "暂无", en: "None" }));
        list.append(item);
      }
    }
  }

  $("link").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      let proof;
      try { proof = JSON.parse($("link-proof").value); } catch { throw new Error("证明内容不是 JSON · the proof is not JSON"); }
      await Session.call("POST", "/v1/persons/me/dependents", {
        dependent_person_id: $("link-person").value.trim(), relation: $("link-relation").value,
        [$("link-proof-kind").value]: proof });
      form.reset();
      outcome(form, null, "已添加 Linked");
      await people();
      await family();
    } catch (error) { outcome(form, error); }
  });

  // --- pages ----------------------------------------------------------------------------------

  async function route() {
    const page = (location.hash || "#code").slice(1);
    const panel = page === "history" ? "actions" : ["itinerary", "family"].includes(page) ? page : "actions";
    for (const id of ["actions", "itinerary", "family"]) $(id).hidden = id !== panel;
    for (const link of document.querySelectorAll("#tabs a")) {
      link.setAttribute("aria-current", link.dataset.panel === panel ? "page" : "false");
    }
    try {
      if (page === "history") { $("history").hidden = false; await history(); }
      if (panel === "itinerary") await itinerary();
      if (panel === "family") await family();
    } catch (error) { errorLine.textContent = error.message; }
  }

  async function people() {
    const links = await Session.call("GET", "/v1/persons/me/dependents");
    state.people = [{ id: state.me.person_id, label: state.me.masked_name },
      ...(links.links || []).map((link) => ({ id: link.dependent.person_id, label: link.dependent.masked_name }))];
    peopleBar();
    for (const person of state.people) if (!timers.has(person.id)) await show(person.id);
  }

  function largeText(on) {
    document.documentElement.classList.toggle("large", on);
    $("large-text").setAttribute("aria-pressed", String(on));
    localStorage.setItem("healthcode.large-text", on ? "1" : "");
  }
  $("large-text").addEventListener("click", () => largeText(!document.documentElement.classList.contains("large")));
  largeText(Boolean(localStorage.getItem("healthcode.large-text")));

  async function catalogue() {
    if (state.messages) return;
    const [messages, areas] = await Promise.all([fetch("/static/messages.json").then((r) => r.json()),
      fetch("/areas.json").then((r) => r.json())]);
    state.messages = messages;
    state.areas = areas;
    symptomBoxes();
    options($("appeal-category"), "appeal_categories");
    options($("link-relation"), "relations");
  }

  async function start() {
    if (!Session.signedIn()) {
      $("signin").hidden = false;
      return;
    }
    $("signin").hidden = true;
    try {
      await catalogue();
      state.me = (await Session.call("GET", "/v1/persons/me")).person;
      state.selected = state.selected || state.me.person_id;
      await show(state.me.person_id);
      $("tabs").hidden = false;
      await people();
      await route();
    } catch (error) {
      errorLine.textContent = error.message;
      if (error.status === 401) { Session.forget(); $("signin").hidden = false; }
    }
  }

  window.addEventListener("hashchange", route);
  $("dev-signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const session = await Session.call("POST", "/dev/sessions", { person_id: $("dev-person").value.trim() });
      Session.keep(session.token);
      start();
    } catch (error) {
      $("signin-error").textContent = error.status === 404 && !error.reason
        ? "development sign-in is off on this platform" : error.message;
    }
  });
  start();
})();
