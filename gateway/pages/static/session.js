// The session token: handed over once in the URL fragment (never sent to a server), then kept
// for this tab only.
"use strict";
const Session = (() => {
  const KEY = "healthcode.session";
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem(KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  async function call(method, path, body) {
    const headers = { "Accept": "application/json" };
    const token = sessionStorage.getItem(KEY);
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((answer.error && answer.error.message) || response.statusText);
      error.status = response.status;
      error.reason = answer.error && answer.error.reason;
      throw error;
    }
    return answer;
  }
  function startClock(element) {
    const tick = () => { element.textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false }); };
    tick();
    setInterval(tick, 1000);
  }
  return {
    call, startClock,
    // What the fragment held besides the token (a device's provisioning: its trust anchor).
    fragment,
    signedIn: () => Boolean(sessionStorage.getItem(KEY)),
    keep: (token) => sessionStorage.setItem(KEY, token),
    forget: () => sessionStorage.removeItem(KEY),
  };
})();
