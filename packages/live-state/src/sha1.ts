// SHA-1 (FIPS 180-4) of a short string's UTF-8 bytes, in JavaScript: node:crypto
// costs several microseconds per call for inputs this small (OpenSSL's per-digest
// setup), this about a fifth of that (bench/sha1.ts prints both). The digest is SHA-1's, bit for bit, so fingerprints
// stay what they were (sha1.test.ts compares it with node:crypto).
const W = new Int32Array(80);
const DIGEST = new Int32Array(5);
let scratch = new Uint8Array(512);

/** SHA-1 of the UTF-8 bytes of `text`: h0..h4 in DIGEST (as int32). */
export function sha1Words(text: string): Int32Array {
  let n = text.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  let encoded: Buffer | undefined;
  if (!ascii) {
    encoded = Buffer.from(text, 'utf8');
    n = encoded.length;
  }
  const length = (((n + 8) >>> 6) + 1) * 64;
  if (scratch.length < length) scratch = new Uint8Array(length * 2);
  const m = scratch;
  if (encoded) m.set(encoded, 0);
  else for (let i = 0; i < n; i++) m[i] = text.charCodeAt(i);
  m.fill(0, n, length);
  m[n] = 0x80;
  const bits = n * 8;
  m[length - 4] = bits >>> 24;
  m[length - 3] = (bits >>> 16) & 0xff;
  m[length - 2] = (bits >>> 8) & 0xff;
  m[length - 1] = bits & 0xff;

  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  for (let o = 0; o < length; o += 64) {
    for (let t = 0; t < 16; t++) {
      const i = o + t * 4;
      W[t] = (m[i]! << 24) | (m[i + 1]! << 16) | (m[i + 2]! << 8) | m[i + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
      W[t] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let t = 0;
    for (; t < 20; t++) {
      const next = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + W[t]! + 0x5a827999) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    for (; t < 40; t++) {
      const next = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + W[t]! + 0x6ed9eba1) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    for (; t < 60; t++) {
      const next = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + W[t]! - 0x70e44324) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    for (; t < 80; t++) {
      const next = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + W[t]! - 0x359d3e2a) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = next;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  DIGEST[0] = h0;
  DIGEST[1] = h1;
  DIGEST[2] = h2;
  DIGEST[3] = h3;
  DIGEST[4] = h4;
  return DIGEST;
}
