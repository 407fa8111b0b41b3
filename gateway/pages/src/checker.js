// The code check in the browser, in services/verification/recognition/checker.py's order and with its reasons:
// read the code → key known → signature (ES256 by WebCrypto, low-S only) → key's province, validity
// at signing, revocation → time and skew → standing (the snapshot's stale codes) → recognition and
// colour mapping → risk lists → colour → temperature → the checkpoint's test requirement.
import { CodeRejected, readCode } from "./code.js";

export const PASS = "DECISION_PASS", DENY = "DECISION_DENY", CHECK_MANUALLY = "DECISION_CHECK_MANUALLY";
export const COLOUR_NAMES = { 1: "GREEN", 2: "YELLOW", 3: "RED" };
const SIGNS_CODES = 1;
const FEVER_TENTHS = 373;
const P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n / 2n;

function bigOf(bytes) {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

// ECDSA has two spellings of one signature, (r, s) and (r, n - s); codes are signed and accepted in
// low-S form only (WebCrypto itself would take both).
export async function es256Verifies(publicKey, message, signature) {
  if (signature.length !== 64) return false;
  const s = bigOf(signature.subarray(32));
  if (s === 0n || s > P256_HALF_ORDER) return false;
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, signature, message);
}

// Python's round(x, 1) on the reading, in tenths (half to even: 37.25 is 37.2, as on the server).
function tenths(celsius) {
  const scaled = celsius * 10;
  const floor = Math.floor(scaled);
  const rest = scaled - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }

// `trust`: { keys: Map(hex key id → {province, purpose, publicKey (CryptoKey), notBeforeMs, notAfterMs,
// revokeMs}), own: Set, agreements: Map(province → {sinceMs, mapping: Map, endMs}), skewSeconds,
// stale: Map(hex code id → expireMs), listed(personRef, nowMs) → colour | null }.
// `nowMs`: the device's clock. `temperature` (℃) and `testWithinHours` optional.
export async function check(payload, trust, nowMs, { temperature = null, testWithinHours = null } = {}) {
  let code;
  try {
    code = await readCode(payload);
  } catch (error) {
    if (error instanceof CodeRejected) return { decision: DENY, reason: error.reason };
    throw error;
  }
  const claims = code.claims;
  const known = { issuerProvince: claims.issuerProvince };
  const deny = (reason, more = {}) => ({ decision: DENY, reason, ...known, ...more });
  const key = trust.keys.get(hex(code.keyId));
  if (!key || key.purpose !== SIGNS_CODES) return deny("KEY_UNKNOWN");
  if (!(await es256Verifies(key.publicKey, code.signedBytes, code.signature))) return deny("SIGNATURE_INVALID");
  if (key.province !== claims.issuerProvince) return deny("KEY_PROVINCE_MISMATCH");
  const issuedMs = claims.issuedAt * 1000;
  if (!(key.notBeforeMs <= issuedMs && issuedMs < key.notAfterMs)) return deny("KEY_NOT_VALID_AT_SIGNING");
  // Known to be revoked: refused whatever the clocks say.
  if (key.revokeMs !== null) return deny("KEY_REVOKED");
  const skewMs = trust.skewSeconds * 1000;
  const aheadMs = issuedMs - nowMs;
  const clockSkewSeconds = Math.max(0, Math.trunc(aheadMs / 1000));
  if (aheadMs > skewMs) return deny("CODE_FROM_FUTURE", { clockSkewSeconds });
  if (nowMs >= claims.expiresAt * 1000 + skewMs) return deny("CODE_EXPIRED", { clockSkewSeconds });
  const verdict = (decision, reason, colour) => ({
    decision, reason, colour: colour ?? claims.nationalColour, displayColour: claims.displayColour,
    maskedName: claims.maskedName, issuerProvince: claims.issuerProvince, clockSkewSeconds,
    codeId: hex(claims.codeId), negativeTestTime: claims.negativeTestTime,
  });
  const staleUntil = trust.stale.get(hex(claims.codeId));
  if (staleUntil !== undefined && staleUntil > nowMs) return verdict(DENY, "STATUS_STALE");
  let colour = claims.nationalColour;
  if (!trust.own.has(claims.issuerProvince)) {
    const agreement = trust.agreements.get(claims.issuerProvince);
    if (!agreement || !(agreement.sinceMs <= issuedMs && (agreement.endMs === null || nowMs < agreement.endMs))) {
      return verdict(DENY, "ISSUER_NOT_RECOGNISED");
    }
    colour = agreement.mapping.get(claims.displayColour) ?? colour;
  }
  const listed = trust.listed(claims.personRef, nowMs);
  if (listed !== null && listed > colour) return verdict(DENY, `RISK_LIST_${COLOUR_NAMES[listed]}`, listed);
  if (colour !== 1) return verdict(DENY, `COLOUR_${COLOUR_NAMES[colour]}`, colour);
  if (temperature !== null && tenths(temperature) >= FEVER_TENTHS) return verdict(DENY, "FEVER", colour);
  if (testWithinHours) {
    const sampled = claims.negativeTestTime;
    if (sampled === null || (sampled + testWithinHours * 3600) * 1000 + skewMs < nowMs) {
      return verdict(DENY, "NEGATIVE_TEST_REQUIRED", colour);
    }
  }
  return verdict(PASS, "", colour);
}
