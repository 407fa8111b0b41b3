// Reading an HCN1: code in the browser, as services/codes/payload.py reads it: the same caps, the
// same refusals and the same reason at the same step (prefix, size, base45, inflate, COSE_Sign1,
// CWT claims). The signature and trust in the key are the checker's (checker.js).
import { decode, Tokenizer, Type } from "cborg";

export const PREFIX = "HCN1:";
export const MAX_PAYLOAD_CHARS = 1024;
export const MAX_DECOMPRESSED_BYTES = 2048;
const ALG = 1, KID = 4, ES256 = -7;
const ISS = 1, EXP = 4, IAT = 6, CTI = 7, HEALTH_CODE = -65537;
const COLOUR = 1, DISPLAY_COLOUR = 2, STATUS_VERSION = 3, MASKED_NAME = 4, PERSON_REF = 5, NEGATIVE_TEST = 6;
const MAX_STATUS_VERSION = 2n ** 63n - 1n;
const LAST_SECOND = 253402300799;
const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const BASE45_TEXT = /^[0-9A-Z $%*+\-./:]*$/;
const DISPLAY_COLOUR_TEXT = /^[a-z_]{1,16}$/;
// Python's str.isprintable(): no control, format, surrogate, private-use, unassigned or separator
// character, but for the plain space.
const PRINTABLE = /^(?:[^\p{C}\p{Z}]| )*$/u;
export const PROVINCES = new Set(["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
  "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81",
  "82"]);
// The tag 18 around the array and the map below it is the deepest nesting a code has.
const MAX_CBOR_DEPTH = 3;

export class CodeRejected extends Error {
  constructor(reason, message) { super(`${reason}: ${message}`); this.reason = reason; }
}

export function isProvinceCode(code) {
  return typeof code === "string" && /^[0-9]{6}$/.test(code) && code.endsWith("0000") && PROVINCES.has(code.slice(0, 2));
}

const BASE45_VALUE = new Map([...BASE45].map((c, i) => [c, i]));

export function decodeBase45(text) {
  // Outside the alphabet first (Python's decoder forgives a trailing newline; this check does not).
  if (!BASE45_TEXT.test(text)) throw new CodeRejected("ENCODING_INVALID", "characters outside the base45 alphabet");
  if (text.length % 3 === 1) throw new CodeRejected("ENCODING_INVALID", "not valid base45");
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0));
  let at = 0;
  for (let i = 0; i < text.length; i += 3) {
    if (text.length - i >= 3) {
      const x = BASE45_VALUE.get(text[i]) + BASE45_VALUE.get(text[i + 1]) * 45 + BASE45_VALUE.get(text[i + 2]) * 2025;
      if (x > 0xffff) throw new CodeRejected("ENCODING_INVALID", "not valid base45");
      out[at++] = x >> 8; out[at++] = x & 0xff;
    } else {
      const x = BASE45_VALUE.get(text[i]) + BASE45_VALUE.get(text[i + 1]) * 45;
      if (x > 0xff) throw new CodeRejected("ENCODING_INVALID", "not valid base45");
      out[at++] = x;
    }
  }
  return out;
}

// zlib data inflated with the browser's DecompressionStream, refused once it passes `limit` bytes
// (a zlib bomb is never inflated whole); truncated or trailing data is invalid.
export async function inflate(compressed, limit = MAX_DECOMPRESSED_BYTES) {
  const reader = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        reader.cancel().catch(() => {});
        throw new CodeRejected("DECOMPRESSED_TOO_LARGE", `inflates to more than ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CodeRejected) throw error;
    throw new CodeRejected("COMPRESSION_INVALID", "not valid zlib data");
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) { data.set(chunk, at); at += chunk.length; }
  // The stream must end with its Adler-32: bytes after it are refused (not every runtime's
  // DecompressionStream refuses trailing data itself).
  const trailer = compressed.length >= 6 ? new DataView(compressed.buffer, compressed.byteOffset + compressed.length - 4, 4)
    .getUint32(0) : -1;
  if (adler32(data) !== trailer) {
    throw new CodeRejected("COMPRESSION_INVALID", "the zlib data is followed by other bytes");
  }
  return data;
}

function adler32(data) {
  let a = 1, b = 0;
  for (let i = 0; i < data.length; i++) { a = (a + data[i]) % 65521; b = (b + a) % 65521; }
  return ((b << 16) | a) >>> 0;
}

// cborg's tokenizer, refusing what a code never holds and Python's reader refuses too: floats (a 1.0
// would pass as the integer 1 in JavaScript) and nesting deeper than a code's.
class CodeTokenizer extends Tokenizer {
  constructor(data, options, maxDepth) {
    super(data, options);
    this.open = [];
    this.maxDepth = maxDepth;
  }

  next() {
    const token = super.next();
    if (this.open.length) this.open[this.open.length - 1] -= 1;
    if (token.type === Type.float) throw new Error("no float in a code");
    const items = token.type === Type.map ? token.value * 2 : token.type === Type.array ? token.value
      : token.type === Type.tag ? 1 : -1;
    if (items >= 0) {
      this.open.push(items);
      if (this.open.length > this.maxDepth) throw new Error("nested too deep");
    }
    while (this.open.length && this.open[this.open.length - 1] === 0) this.open.pop();
    return token;
  }
}

export function decodeCbor(data, reason, what, { tags = [], maxDepth = MAX_CBOR_DEPTH } = {}) {
  const options = { strict: false, allowBigInt: true, useMaps: true, rejectDuplicateMapKeys: true,
    allowIndefinite: false, allowUndefined: false, tags };
  try {
    return decode(data, { ...options, tokenizer: new CodeTokenizer(data, options, maxDepth) });
  } catch {
    throw new CodeRejected(reason, `${what} is not CBOR a code may hold`);
  }
}

class Tagged18 { constructor(value) { this.value = value; } }
const COSE_TAGS = [];
COSE_TAGS[18] = (decodeTagged) => new Tagged18(decodeTagged());

function byteStringHead(length) {
  if (length < 24) return [0x40 | length];
  if (length < 0x100) return [0x58, length];
  if (length < 0x10000) return [0x59, length >> 8, length & 0xff];
  return [0x5a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

function byteString(bytes) { return concat([Uint8Array.from(byteStringHead(bytes.length)), bytes]); }

// What sign_code writes: tag 18, [protected, {}, payload, signature], shortest lengths.
function coseSign1(protectedHeader, payload, signature) {
  return concat([Uint8Array.of(0xd2, 0x84), byteString(protectedHeader), Uint8Array.of(0xa0), byteString(payload),
    byteString(signature)]);
}

const SIGNATURE1 = new TextEncoder().encode("Signature1");

// COSE's Sig_structure: ["Signature1", protected, b"", payload].
function sigStructure(protectedHeader, payload) {
  return concat([Uint8Array.of(0x84, 0x6a), SIGNATURE1, byteString(protectedHeader), Uint8Array.of(0x40),
    byteString(payload)]);
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hasExactly(value, keys) {
  return value instanceof Map && value.size === keys.length && [...value.keys()].every((k) => typeof k === "number")
    && keys.every((k) => value.has(k));
}

function openCoseSign1(data) {
  const invalid = (message) => new CodeRejected("COSE_INVALID", message);
  const cose = decodeCbor(data, "COSE_INVALID", "the COSE_Sign1", { tags: COSE_TAGS });
  if (!(cose instanceof Tagged18)) throw invalid("not a tagged COSE_Sign1");
  if (!Array.isArray(cose.value) || cose.value.length !== 4) throw invalid("not an array of four items");
  const [protectedHeader, unprotected, claims, signature] = cose.value;
  if (![protectedHeader, claims, signature].every((item) => item instanceof Uint8Array)) {
    throw invalid("headers, payload or signature are not byte strings");
  }
  const header = decodeCbor(protectedHeader, "COSE_INVALID", "the protected header");
  if (!hasExactly(header, [ALG, KID])) throw invalid("the protected header must hold exactly alg and kid");
  if (header.get(ALG) !== ES256) throw invalid("the algorithm is not ES256");
  const keyId = header.get(KID);
  if (!(keyId instanceof Uint8Array) || keyId.length !== 8) throw invalid("the key id is not 8 bytes");
  if (!(unprotected instanceof Map) || unprotected.size) throw invalid("the unprotected header is not an empty map");
  if (signature.length !== 64) throw invalid("the signature is not 64 bytes");
  if (!sameBytes(coseSign1(protectedHeader, claims, signature), data)) throw invalid("not the shortest encoding");
  return { protectedHeader, claims, signature, keyId };
}

function exactInt(value) {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Error("not an integer");
  return value;
}

function momentAt(seconds) {
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0 || seconds > LAST_SECOND) {
    throw new Error("not whole seconds since 1970");
  }
  return seconds;
}

function readClaims(data) {
  const claims = decodeCbor(data, "CLAIMS_INVALID", "the CWT claims");
  try {
    if (!hasExactly(claims, [ISS, EXP, IAT, CTI, HEALTH_CODE])) throw new Error("claims");
    const code = claims.get(HEALTH_CODE);
    const base = [COLOUR, DISPLAY_COLOUR, STATUS_VERSION, MASKED_NAME, PERSON_REF];
    if (!(hasExactly(code, base) || hasExactly(code, [...base, NEGATIVE_TEST]))) throw new Error("health code");
    const read = {
      issuerProvince: claims.get(ISS), codeId: claims.get(CTI), nationalColour: exactInt(code.get(COLOUR)),
      displayColour: code.get(DISPLAY_COLOUR), statusVersion: code.get(STATUS_VERSION),
      maskedName: code.get(MASKED_NAME), personRef: code.get(PERSON_REF),
      issuedAt: momentAt(claims.get(IAT)), expiresAt: momentAt(claims.get(EXP)),
      negativeTestTime: code.has(NEGATIVE_TEST) ? momentAt(code.get(NEGATIVE_TEST)) : null,
    };
    if (![1, 2, 3].includes(read.nationalColour)) throw new Error("colour");
    if (!isProvinceCode(read.issuerProvince)) throw new Error("issuer");
    if (!(read.codeId instanceof Uint8Array) || read.codeId.length !== 16) throw new Error("code id");
    if (typeof read.displayColour !== "string" || !DISPLAY_COLOUR_TEXT.test(read.displayColour)) throw new Error("dc");
    const version = read.statusVersion;
    if (!((typeof version === "number" && Number.isInteger(version) && version >= 1)
      || (typeof version === "bigint" && version >= 1n && version <= MAX_STATUS_VERSION))) throw new Error("version");
    const nameLength = typeof read.maskedName === "string" ? [...read.maskedName].length : 0;
    if (nameLength < 1 || nameLength > 64 || !PRINTABLE.test(read.maskedName)) throw new Error("name");
    if (!(read.personRef instanceof Uint8Array) || read.personRef.length !== 16) throw new Error("person ref");
    if (read.expiresAt <= read.issuedAt) throw new Error("expiry");
    if (read.negativeTestTime !== null && read.negativeTestTime > read.issuedAt) throw new Error("test");
    return read;
  } catch {
    throw new CodeRejected("CLAIMS_INVALID", "the claims are not a health code's");
  }
}

function codePoints(text, stopAfter) {
  let n = 0;
  for (const _ of text) { if (++n > stopAfter) break; }
  return n;
}

// A structurally valid code: { keyId, claims, signedBytes, signature }; CodeRejected otherwise.
export async function readCode(payload) {
  if (typeof payload !== "string" || !payload.startsWith(PREFIX)) {
    throw new CodeRejected("PREFIX_UNKNOWN", `the payload does not start with ${PREFIX}`);
  }
  if (payload.length > MAX_PAYLOAD_CHARS && codePoints(payload, MAX_PAYLOAD_CHARS) > MAX_PAYLOAD_CHARS) {
    throw new CodeRejected("PAYLOAD_TOO_LARGE", `longer than ${MAX_PAYLOAD_CHARS} characters`);
  }
  const cose = await inflate(decodeBase45(payload.slice(PREFIX.length)));
  const { protectedHeader, claims, signature, keyId } = openCoseSign1(cose);
  return { keyId, claims: readClaims(claims), signedBytes: sigStructure(protectedHeader, claims), signature };
}
