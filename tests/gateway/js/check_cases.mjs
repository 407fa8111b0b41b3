// Runs the page's checker (gateway/pages/src/checker.js) under node on cases read from stdin as JSON,
// printing each verdict's [decision, reason]: what tests/gateway/test_offline_equivalence.py compares
// with the Python checker's.
import { check } from "../../../gateway/pages/src/checker.js";
import { mostSevere } from "../../../gateway/pages/src/snapshot.js";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));
const bytes = (b64) => Uint8Array.from(Buffer.from(b64, "base64"));
const keys = new Map();
for (const [keyId, province, purpose, spki, notBeforeMs, notAfterMs, revokeMs] of input.keys) {
  const publicKey = await crypto.subtle.importKey("spki", bytes(spki), { name: "ECDSA", namedCurve: "P-256" }, false,
    ["verify"]);
  keys.set(keyId, { province, purpose, publicKey, notBeforeMs, notAfterMs, revokeMs });
}
const listed = bytes(input.listed);
const trust = {
  keys, own: new Set(input.own), skewSeconds: input.skew_seconds, stale: new Map(input.stale),
  agreements: new Map(input.agreements.map(([issuer, sinceMs, mapping, endMs]) =>
    [issuer, { sinceMs, mapping: new Map(Object.entries(mapping)), endMs }])),
  listed: (personRef, nowMs) => mostSevere(listed, personRef, nowMs),
};
const out = [];
for (const c of input.cases) {
  const verdict = await check(c.payload, trust, c.now_ms, { temperature: c.temperature, testWithinHours: c.test_within });
  out.push([verdict.decision, verdict.reason || ""]);
}
process.stdout.write(JSON.stringify(out));
