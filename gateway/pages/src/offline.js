// The checkpoint page's offline verifier (bundled by ./dev into static/offline.js as `Offline`): a
// device holding the signed snapshot in IndexedDB, verifying HCN1: codes with no network, and
// queueing what it decided for upload.
import { check, CHECK_MANUALLY } from "./checker.js";
import * as snapshot from "./snapshot.js";

export { check, snapshot };
export { readCode } from "./code.js";

export const DEFAULT_MAX_AGE_HOURS = 24;

export class Device {
  constructor(db, anchor, anchorText, held, maxAgeMs) {
    this.db = db;
    this.anchor = anchor;
    this.anchorText = anchorText;
    this.maxAgeMs = maxAgeMs;
    this._use(held);
  }

  // The device as provisioned: the trust anchor (base64url SPKI of the deployment's exchange key)
  // from the provisioning link, else the one held. A new anchor drops the snapshot signed by the old.
  static async open({ anchor = "", maxAgeHours = DEFAULT_MAX_AGE_HOURS } = {}) {
    const db = await snapshot.openStore();
    const heldAnchor = await snapshot.readState(db, "anchor");
    if (anchor && anchor !== heldAnchor) {
      await snapshot.importAnchor(snapshot.fromBase64Url(anchor));  // refuses a malformed key before storing it
      await snapshot.clear(db);
      await snapshot.writeState(db, "anchor", anchor);
    }
    const anchorText = anchor || heldAnchor;
    if (!anchorText) return null;
    const key = await snapshot.importAnchor(snapshot.fromBase64Url(anchorText));
    let held;
    try {
      held = await snapshot.load(db, key);
    } catch {
      await snapshot.clear(db);
      held = await snapshot.load(db, key);
    }
    return new Device(db, key, anchorText, held, maxAgeHours * 3600 * 1000);
  }

  _use(held) {
    this.held = held;
    this.trust = null;
  }

  async _trust() {
    if (!this.trust && this.held.manifest) this.trust = await snapshot.trustOf(this.held.manifest, this.held.partitions);
    return this.trust;
  }

  get issueMs() { return this.held.manifest ? this.held.manifest.issue_ms : null; }
  get version() { return this.held.manifest ? this.held.manifest.version : 0; }

  async sync(call) {
    const result = await snapshot.sync(this.db, this.anchor, this.held, call);
    this._use(result.held);
    await this._trust();
    return { version: this.version, patched: result.patched, fetched: result.fetched };
  }

  // The verdict, as the server's VerifyCode gives it; too old a snapshot is itself a verdict.
  async verify(payload, { temperature = null, testWithinHours = null, nowMs = Date.now() } = {}) {
    const trust = await this._trust();
    if (!trust || nowMs - trust.issueMs > this.maxAgeMs) return { decision: CHECK_MANUALLY, reason: "SNAPSHOT_TOO_OLD" };
    if (typeof payload === "string" && payload.startsWith("HC1:")) {
      // EU DCCs are checked online only (their rules engine is the server's).
      return { decision: CHECK_MANUALLY, reason: "DCC_NOT_CHECKED_OFFLINE" };
    }
    return check(payload, trust, nowMs, { temperature, testWithinHours });
  }

  // Queues an offline decision (no name, no payload: what the server's decision row holds).
  async record(verdict, areaCode, nowMs = Date.now()) {
    const decision = {
      decision_id: crypto.randomUUID(), verify_time: new Date(nowMs).toISOString(), decision: verdict.decision,
      reason: verdict.reason || "", issuer_province_code: verdict.issuerProvince || "",
      colour: verdict.colour ? ["", "COLOUR_GREEN", "COLOUR_YELLOW", "COLOUR_RED"][verdict.colour] : "COLOUR_UNSPECIFIED",
      code_id: verdict.codeId || "", area_code: areaCode,
    };
    await snapshot.enqueue(this.db, decision);
    return decision.decision_id;
  }

  async queued() { return snapshot.queued(this.db); }

  async upload(call) { return snapshot.upload(this.db, call); }
}
