// The offline snapshot on the device: the signed manifest (verified with WebCrypto against the trust
// anchor the page was provisioned with: this deployment's exchange key), the 256 partitions of
// red/yellow records proved by its digests, all kept in IndexedDB; and the queue of decisions made
// offline. The layout is services/verification/recognition/exchange.py's Manifest and partitions.py's records.
import { decode } from "cborg";
import { es256Verifies, hex } from "./checker.js";

export const PARTITIONS = 256;
export const RECORD_BYTES = 21;
const MANIFEST_PURPOSE = new TextEncoder().encode("HCN1-MANIFEST");
// As many as the gateway lets one caller have heavy calls in flight; a call it sheds (429, 503) is
// tried again after a pause (a bootstrap of 256 partitions meets the checkpoint's rate limit).
const PARALLEL_FETCHES = 4;
const RETRIES = 20;
const DB_NAME = "healthcode-checkpoint";

export class SnapshotRejected extends Error {}

async function patiently(call, method, path) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(method, path);
    } catch (error) {
      if (attempt >= RETRIES || (error.status !== 429 && error.status !== 503)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
    }
  }
}

// --- IndexedDB -------------------------------------------------------------------------------

function request(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

export async function openStore() {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => {
    const db = opening.result;
    db.createObjectStore("state");
    db.createObjectStore("partitions");
    db.createObjectStore("queue", { keyPath: "decision_id" });
  };
  return request(opening);
}

function done(tx) {
  return new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error); });
}

export async function readState(db, key) { return request(db.transaction("state").objectStore("state").get(key)); }

export async function writeState(db, key, value) {
  const tx = db.transaction("state", "readwrite");
  tx.objectStore("state").put(value, key);
  await done(tx);
}

// --- bytes -----------------------------------------------------------------------------------

export function fromBase64(text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function fromBase64Url(text) {
  const plain = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(plain + "=".repeat((4 - (plain.length % 4)) % 4));
}

function compare(a, aAt, b, bAt, length) {
  for (let i = 0; i < length; i++) {
    const d = a[aAt + i] - b[bAt + i];
    if (d) return d;
  }
  return 0;
}

function sameBytes(a, b) { return a.length === b.length && compare(a, 0, b, 0, a.length) === 0; }

async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }

function expireAt(records, at) {
  return ((records[at + 17] << 24) >>> 0) + (records[at + 18] << 16) + (records[at + 19] << 8) + records[at + 20];
}

// Whole 21-byte records, strictly ascending, all in `partition`.
export function checkPartition(records, partition) {
  if (records.length % RECORD_BYTES) throw new SnapshotRejected(`partition ${partition}: not whole records`);
  for (let at = 0; at < records.length; at += RECORD_BYTES) {
    if (records[at] !== partition) throw new SnapshotRejected(`partition ${partition}: a record of another`);
    if (at && compare(records, at - RECORD_BYTES, records, at, RECORD_BYTES) >= 0) {
      throw new SnapshotRejected(`partition ${partition}: records not sorted and distinct`);
    }
  }
}

// Two sorted record lists as one, without repeats and without records expired by `cutoff` (seconds).
export function merge(held, changes, cutoff) {
  const out = new Uint8Array(held.length + changes.length);
  let i = 0, j = 0, n = 0;
  const take = (source, at) => {
    if (expireAt(source, at) <= cutoff) return;
    if (n && compare(out, n - RECORD_BYTES, source, at, RECORD_BYTES) === 0) return;
    out.set(source.subarray(at, at + RECORD_BYTES), n);
    n += RECORD_BYTES;
  };
  while (i < held.length || j < changes.length) {
    if (j >= changes.length || (i < held.length && compare(held, i, changes, j, RECORD_BYTES) <= 0)) {
      take(held, i); i += RECORD_BYTES;
    } else {
      take(changes, j); j += RECORD_BYTES;
    }
  }
  return out.slice(0, n);
}

// The most severe colour among a person's records still counting at `nowMs`, or null.
export function mostSevere(records, personRef, nowMs) {
  let low = 0, high = records.length / RECORD_BYTES;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compare(records, mid * RECORD_BYTES, personRef, 0, 16) < 0) low = mid + 1; else high = mid;
  }
  let found = null;
  for (let at = low * RECORD_BYTES; at < records.length && compare(records, at, personRef, 0, 16) === 0;
    at += RECORD_BYTES) {
    if (expireAt(records, at) * 1000 > nowMs && (found === null || records[at + 16] > found)) found = records[at + 16];
  }
  return found;
}

// --- the manifest ----------------------------------------------------------------------------

export async function importAnchor(spki) {
  return crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
}

async function verifiedManifest(anchor, document, signature) {
  const message = new Uint8Array(MANIFEST_PURPOSE.length + document.length);
  message.set(MANIFEST_PURPOSE);
  message.set(document, MANIFEST_PURPOSE.length);
  if (!(await es256Verifies(anchor, message, signature))) {
    throw new SnapshotRejected("the manifest's signature does not verify with the provisioned key");
  }
  const fields = decode(document, { useMaps: true, allowIndefinite: false, rejectDuplicateMapKeys: true });
  const manifest = Object.fromEntries(fields);
  manifest.partitions = manifest.partitions.map(([count, digest]) => ({ count, digest }));
  return manifest;
}

// What the checker trusts, from a verified manifest (keys imported for WebCrypto once).
export async function trustOf(manifest, partitions) {
  const keys = new Map();
  for (const [keyId, province, purpose, spki, notBeforeMs, notAfterMs, revokeMs] of manifest.keys) {
    let publicKey = null;
    try { publicKey = await importAnchor(spki); } catch { continue; }
    keys.set(hex(keyId),
      { province, purpose, publicKey, notBeforeMs, notAfterMs, revokeMs });
  }
  const agreements = new Map(manifest.agreements.map(([issuer, sinceMs, mapping, endMs]) =>
    [issuer, { sinceMs, mapping, endMs }]));
  const stale = new Map(manifest.stale.map(([codeId, expireMs]) =>
    [hex(codeId), expireMs]));
  return {
    keys, agreements, stale, own: new Set(manifest.provinces), skewSeconds: manifest.skew_seconds,
    issueMs: manifest.issue_ms, version: manifest.version,
    listed: (personRef, nowMs) => mostSevere(partitions[personRef[0]], personRef, nowMs),
  };
}

// --- sync ------------------------------------------------------------------------------------

// Brings the device up to date: the manifest, the changes since the version held (for the
// partitions they fix), whole partitions for the rest, each proved by the manifest's digest; stored
// in one IndexedDB transaction, so a failed sync leaves what was held. `call(method, path)` → JSON.
export async function sync(db, anchor, held, call) {
  const answer = await patiently(call, "GET", "/v1/offline-manifest");
  const document = fromBase64(answer.manifest);
  const manifest = await verifiedManifest(anchor, document, fromBase64(answer.signature));
  if (held.manifest && (manifest.version < held.manifest.version || manifest.issue_ms < held.manifest.issue_ms)) {
    throw new SnapshotRejected("the manifest is older than the snapshot held");
  }
  const cutoff = Math.floor(manifest.issue_ms / 1000);
  const asOf = `as_of_version=${manifest.version}&as_of_time=${encodeURIComponent(new Date(manifest.issue_ms).toISOString())}`;
  const partitions = held.partitions.slice();
  const digests = held.digests.slice();
  const expected = (p) => manifest.partitions[p].digest;
  const differing = [];
  for (let p = 0; p < PARTITIONS; p++) if (!sameBytes(digests[p], expected(p))) differing.push(p);
  let patched = 0;
  if (differing.length && held.manifest) {
    const changes = Array.from({ length: PARTITIONS }, () => []);
    let token = "";
    do {
      const page = await patiently(call, "GET", `/v1/offline-changes?since_version=${held.manifest.version}&${asOf}` +
        `&page_token=${token}`);
      const records = fromBase64(page.records || "");
      for (let at = 0; at < records.length; at += RECORD_BYTES) changes[records[at]].push(records.subarray(at, at + RECORD_BYTES));
      token = page.next_page_token || "";
    } while (token);
    for (const p of differing) {
      const flat = new Uint8Array(changes[p].length * RECORD_BYTES);
      changes[p].forEach((record, i) => flat.set(record, i * RECORD_BYTES));
      const candidate = merge(partitions[p], flat, cutoff);
      if (sameBytes(await sha256(candidate), expected(p))) {
        partitions[p] = candidate; digests[p] = expected(p); patched += 1;
      }
    }
  }
  const missing = differing.filter((p) => !sameBytes(digests[p], expected(p)));
  let next = 0;
  async function worker() {
    while (next < missing.length) {
      const p = missing[next++];
      const page = await patiently(call, "GET", `/v1/offline-partitions/${p}?${asOf}`);
      const records = fromBase64(page.records || "");
      checkPartition(records, p);
      if (!sameBytes(await sha256(records), expected(p))) {
        throw new SnapshotRejected(`partition ${p} does not match the manifest's digest`);
      }
      partitions[p] = records; digests[p] = expected(p);
    }
  }
  await Promise.all(Array.from({ length: PARALLEL_FETCHES }, worker));
  const tx = db.transaction(["state", "partitions"], "readwrite");
  for (const p of differing) tx.objectStore("partitions").put({ records: partitions[p], digest: digests[p] }, p);
  tx.objectStore("state").put({ document, signature: fromBase64(answer.signature) }, "manifest");
  await done(tx);
  return { held: { manifest, partitions, digests }, patched, fetched: missing.length };
}

// What the device holds, from IndexedDB (the manifest verified again: storage is not a trust anchor).
export async function load(db, anchor) {
  const empty = await sha256(new Uint8Array(0));
  const held = { manifest: null, partitions: Array(PARTITIONS).fill(new Uint8Array(0)), digests: Array(PARTITIONS).fill(empty) };
  const stored = await readState(db, "manifest");
  if (!stored) return held;
  held.manifest = await verifiedManifest(anchor, stored.document, stored.signature);
  const rows = db.transaction("partitions").objectStore("partitions");
  const [keys, values] = await Promise.all([request(rows.getAllKeys()), request(rows.getAll())]);
  keys.forEach((p, i) => { held.partitions[p] = values[i].records; held.digests[p] = values[i].digest; });
  return held;
}

export async function clear(db) {
  const tx = db.transaction(["state", "partitions"], "readwrite");
  tx.objectStore("partitions").clear();
  tx.objectStore("state").delete("manifest");
  await done(tx);
}

// --- decisions made offline --------------------------------------------------------------------

export async function enqueue(db, decision) {
  const tx = db.transaction("queue", "readwrite");
  tx.objectStore("queue").put(decision);
  await done(tx);
}

export async function queued(db) { return request(db.transaction("queue").objectStore("queue").getAll()); }

// Uploads the queue (per area, 1000 at a time); a decision leaves the queue once the server has it,
// stored now or before (the server keeps each decision id once, so a repeated upload is harmless).
export async function upload(db, call) {
  const pending = await queued(db);
  const byArea = new Map();
  for (const item of pending) byArea.set(item.area_code, [...(byArea.get(item.area_code) || []), item]);
  let sent = 0;
  for (const [area, items] of byArea) {
    for (let start = 0; start < items.length; start += 1000) {
      const batch = items.slice(start, start + 1000);
      const answer = await call("POST", "/v1/offline-decisions", {
        area_code: area, decisions: batch.map(({ area_code, ...decision }) => decision) });
      const tx = db.transaction("queue", "readwrite");
      // Rejected ones too: the server will never take them (a note in the console, not a loop).
      for (const item of batch) tx.objectStore("queue").delete(item.decision_id);
      await done(tx);
      if ((answer.rejections || []).length) console.warn("offline decisions refused", answer.rejections);
      sent += batch.length;
    }
  }
  return sent;
}
