/* A small CBOR (RFC 8949) reader and writer: only what COSE_Sign1 and CWT claims need.
 * Reads: unsigned and negative integers, byte and text strings (definite lengths), arrays, maps (as Map),
 * tags ({tag, value}), false/true/null/undefined and floats. Anything else, indefinite lengths, trailing bytes,
 * nesting deeper than 16 or integers past 2^53 throw. Writes: integers, byte strings (Uint8Array), text, arrays.
 */
(function (root) {
  "use strict";
  var MAX_DEPTH = 16;

  function CborError(message) { this.name = "CborError"; this.message = message; }
  CborError.prototype = Object.create(Error.prototype);

  function decode(bytes) {
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    var pos = 0;
    function need(n) { if (pos + n > bytes.length) { throw new CborError("truncated"); } }
    function length(info) {
      if (info < 24) { return info; }
      var n;
      if (info === 24) { need(1); n = bytes[pos]; pos += 1; return n; }
      if (info === 25) { need(2); n = view.getUint16(pos); pos += 2; return n; }
      if (info === 26) { need(4); n = view.getUint32(pos); pos += 4; return n; }
      if (info === 27) {
        need(8);
        var hi = view.getUint32(pos), lo = view.getUint32(pos + 4);
        pos += 8;
        if (hi > 0x1fffff) { throw new CborError("integer too large"); }
        return hi * 4294967296 + lo;
      }
      throw new CborError("indefinite or reserved length");
    }
    function item(depth) {
      if (depth > MAX_DEPTH) { throw new CborError("too deep"); }
      need(1);
      var first = bytes[pos];
      pos += 1;
      var major = first >> 5, info = first & 31, n, i, out;
      if (major === 7) {
        if (info === 20) { return false; }
        if (info === 21) { return true; }
        if (info === 22) { return null; }
        if (info === 23) { return undefined; }
        if (info === 25) { need(2); n = view.getUint16(pos); pos += 2; return half(n); }
        if (info === 26) { need(4); n = view.getFloat32(pos); pos += 4; return n; }
        if (info === 27) { need(8); n = view.getFloat64(pos); pos += 8; return n; }
        throw new CborError("unsupported simple value");
      }
      n = length(info);
      switch (major) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: need(n); out = bytes.slice(pos, pos + n); pos += n; return out;
        case 3:
          need(n);
          out = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(pos, pos + n));
          pos += n;
          return out;
        case 4:
          if (n > bytes.length) { throw new CborError("array too long"); }
          out = [];
          for (i = 0; i < n; i += 1) { out.push(item(depth + 1)); }
          return out;
        case 5:
          if (n > bytes.length) { throw new CborError("map too long"); }
          out = new Map();
          for (i = 0; i < n; i += 1) {
            var key = item(depth + 1);
            if (typeof key !== "number" && typeof key !== "string") { throw new CborError("map key type"); }
            if (out.has(key)) { throw new CborError("duplicate map key"); }
            out.set(key, item(depth + 1));
          }
          return out;
        default: return { tag: n, value: item(depth + 1) };
      }
    }
    function half(h) {
      var exp = (h >> 10) & 31, mant = h & 1023, sign = h & 32768 ? -1 : 1;
      if (exp === 0) { return sign * Math.pow(2, -14) * (mant / 1024); }
      if (exp === 31) { return mant ? NaN : sign * Infinity; }
      return sign * Math.pow(2, exp - 15) * (1 + mant / 1024);
    }
    var value = item(0);
    if (pos !== bytes.length) { throw new CborError("trailing bytes"); }
    return value;
  }

  function head(major, n) {
    if (n < 24) { return [(major << 5) | n]; }
    if (n < 256) { return [(major << 5) | 24, n]; }
    if (n < 65536) { return [(major << 5) | 25, n >> 8, n & 255]; }
    if (n < 4294967296) { return [(major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255]; }
    throw new CborError("too long to write");
  }

  function encode(value) {
    var parts = [];
    function put(v) {
      if (v instanceof Uint8Array) { parts.push(Uint8Array.from(head(2, v.length))); parts.push(v); return; }
      if (typeof v === "string") {
        var t = new TextEncoder().encode(v);
        parts.push(Uint8Array.from(head(3, t.length)));
        parts.push(t);
        return;
      }
      if (typeof v === "number" && Number.isInteger(v)) {
        parts.push(Uint8Array.from(v >= 0 ? head(0, v) : head(1, -1 - v)));
        return;
      }
      if (Array.isArray(v)) { parts.push(Uint8Array.from(head(4, v.length))); v.forEach(put); return; }
      throw new CborError("cannot write this value");
    }
    put(value);
    var size = parts.reduce(function (s, p) { return s + p.length; }, 0), out = new Uint8Array(size), at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  root.WalletCbor = { decode: decode, encode: encode, CborError: CborError };
})(self);
