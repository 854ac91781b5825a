/* The offline verifier (/verifier): checks a wallet QR (COSE_Sign1 over CWT claims, ES256) with WebCrypto against
 * the cached JWK set and Token Status Lists. The service worker (sw.js) keeps the page, its assets, the key set
 * and the lists; this script also stores them itself on the first visit, before the worker controls the page.
 * Results in [data-result]: valid | revoked | expired | invalid | unknown_key (set only when a check finished).
 */
(function () {
  "use strict";
  var doc = document;
  var root = doc.querySelector("[data-verifier]");
  if (!root || !window.crypto || !crypto.subtle || !window.WalletCbor) { return; }
  var CONFIG = JSON.parse(root.getAttribute("data-verifier"));
  var T = CONFIG.texts;
  var KEYS_URL = "/.well-known/wallet-keys.json";
  var INDEX_URL = "/api/v1/status-lists";
  var DATA_CACHE = "verifier-data";
  var MAX_BYTES = 600;
  var PROBE_LIMIT = 32;
  var cbor = window.WalletCbor;

  var form = doc.getElementById("verifier-form");
  var field = doc.getElementById("qr-content");
  var result = doc.getElementById("result");
  var verdict = doc.getElementById("verdict");
  var why = doc.getElementById("why");
  var asOf = doc.getElementById("as-of");
  var facts = doc.getElementById("facts");
  var live = doc.getElementById("live");
  var cacheLine = doc.getElementById("cache-status");

  function Invalid(reason) { this.reason = reason; }

  // ---------------------------------------------------------------- data: network first, the cache offline
  function stamped(response, body) {
    var headers = new Headers(response.headers);
    headers.set("X-Fetched-At", String(Date.now()));
    return new Response(body, { status: response.status, headers: headers });
  }

  function load(path) {
    // -> {response, fetchedAt, cached}; a copy is kept when no service worker controls the page yet
    return fetch(path, { cache: "no-store", credentials: "omit" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      var from = r.headers.get("X-Fetched-At");
      if (from) { return { response: r, fetchedAt: Number(from), cached: true }; }
      if (!navigator.serviceWorker || !navigator.serviceWorker.controller) {
        var copy = r.clone();
        copy.arrayBuffer().then(function (body) {
          return caches.open(DATA_CACHE).then(function (c) { return c.put(path, stamped(copy, body)); });
        }).catch(function () {});
      }
      return { response: r, fetchedAt: Date.now(), cached: false };
    }).catch(function () {
      return caches.open(DATA_CACHE).then(function (c) { return c.match(path); }).then(function (hit) {
        if (!hit) { return null; }
        return { response: hit, fetchedAt: Number(hit.headers.get("X-Fetched-At")) || 0, cached: true };
      });
    });
  }

  function sameOriginPath(uri) {
    try {
      var u = new URL(uri, location.href);
      return u.origin === location.origin ? u.pathname : null;
    } catch (e) { return null; }
  }

  function forgetOtherLists(paths) {
    // a list the service no longer names is dropped, so the "as of" time is that of the lists in use
    return caches.open(DATA_CACHE).then(function (c) {
      return c.keys().then(function (requests) {
        return Promise.all(requests.filter(function (r) {
          var p = new URL(r.url).pathname;
          return p.indexOf(INDEX_URL + "/") === 0 && paths.indexOf(p) < 0;
        }).map(function (r) { return c.delete(r); }));
      });
    });
  }

  function refresh() {
    // keys, the list index (or lists 1, 2, ... until a miss) and every list: cached for offline checks
    var jobs = [load(KEYS_URL)];
    jobs.push(load(INDEX_URL).then(function (got) {
      if (got && !got.cached) {
        return got.response.json().then(function (index) {
          var lists = (index && Array.isArray(index.lists)) ? index.lists : [];
          var paths = lists.map(sameOriginPath).filter(Boolean).slice(0, 256);
          return Promise.all(paths.map(load)).then(function () { return forgetOtherLists(paths); });
        });
      }
      if (got) { return null; }
      return (function probe(n) {  // no index: lists 0 (if any), 1, 2, ... until the first missing one
        if (n > PROBE_LIMIT) { return null; }
        return fetch(INDEX_URL + "/" + n, { method: "HEAD", cache: "no-store" }).then(function (r) {
          if (r.ok) { return load(INDEX_URL + "/" + n).then(function () { return probe(n + 1); }); }
          return n === 0 ? probe(1) : null;
        });
      })(0);
    }));
    return Promise.all(jobs).then(function (done) {
      var keys = done[0];
      if (keys && cacheLine) { cacheLine.textContent = fill(T.as_of, when(keys.fetchedAt)); }
    }).catch(function () {}).then(offlineBanner);
  }

  // the offline banner says what matters to a clerk: how old the keys and status lists this device checks with are
  var banner = doc.getElementById("offline");
  function savedAsOf() {
    // -> the oldest X-Fetched-At among the saved key set and status lists, or 0 when the device has none
    return caches.open(DATA_CACHE).then(function (c) {
      return c.keys().then(function (requests) {
        return Promise.all(requests.map(function (r) {
          return c.match(r).then(function (hit) { return { url: r.url, hit: hit }; });
        }));
      });
    }).then(function (entries) {
      var keys = 0, oldest = 0;
      entries.forEach(function (e) {
        var at = e.hit ? Number(e.hit.headers.get("X-Fetched-At")) || 0 : 0;
        if (!at) { return; }
        if (/wallet-keys\.json$/.test(e.url)) { keys = at; }
        oldest = oldest ? Math.min(oldest, at) : at;
      });
      return keys ? oldest : 0;
    }).catch(function () { return 0; });
  }
  function offlineBanner() {
    if (!banner || navigator.onLine) { return Promise.resolve(); }
    return savedAsOf().then(function (at) {
      banner.textContent = at ? fill(T.offline_banner, when(at)) : T.offline_no_data;
    });
  }
  window.addEventListener("offline", offlineBanner);

  // ---------------------------------------------------------------- dates, as wallet.present.moment writes them
  var ZONE = "Africa/Casablanca";
  function parts(ms) {
    var out = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(ms)).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }
  function dayText(y, m, d) { return Number(d) + " " + CONFIG.months[Number(m) - 1] + " " + y; }
  function isoDay(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text));
    return m && Number(m[2]) >= 1 && Number(m[2]) <= 12 ? dayText(m[1], m[2], m[3]) : String(text);
  }
  function moment(ms) {
    var p = parts(ms);
    return CONFIG.moment.replace("{1}", dayText(p.year, p.month, p.day)).replace("{0}", p.hour + ":" + p.minute);
  }
  function when(ms) {
    // "status as of 10:42" today; the full date and time otherwise
    if (!ms) { return "—"; }
    var p = parts(ms), n = parts(Date.now());
    return p.year === n.year && p.month === n.month && p.day === n.day ? p.hour + ":" + p.minute : moment(ms);
  }
  function fill(text, time) { return text.replace("%(time)s", time); }

  // ---------------------------------------------------------------- bytes
  function b64u(text) {
    if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) { throw new Invalid("not base64url"); }
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i += 1) { out[i] = s.charCodeAt(i); }
    return out;
  }
  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }
  function jwkKey(jwk) {
    return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  }
  function es256(jwk, signature, data) {
    if (signature.length !== 64) { return Promise.resolve(false); }
    return jwkKey(jwk).then(function (key) {
      return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, data);
    }).catch(function () { return false; });
  }

  // ---------------------------------------------------------------- the check
  function openSign1(text) {
    if (new TextEncoder().encode(text).length > MAX_BYTES) { throw new Invalid("too long"); }
    var fragment = text.indexOf("#") >= 0 ? text.slice(text.indexOf("#") + 1) : text;
    var obj;
    try { obj = cbor.decode(b64u(fragment)); } catch (e) { throw new Invalid("not CBOR"); }
    if (!obj || obj.tag !== 18 || !Array.isArray(obj.value) || obj.value.length !== 4) { throw new Invalid("not COSE_Sign1"); }
    var v = obj.value;
    if (!(v[0] instanceof Uint8Array) || !(v[1] instanceof Map) || !(v[2] instanceof Uint8Array) || !(v[3] instanceof Uint8Array)) {
      throw new Invalid("bad COSE_Sign1 fields");
    }
    var header;
    try { header = cbor.decode(v[0]); } catch (e) { throw new Invalid("bad protected header"); }
    if (!(header instanceof Map) || header.get(1) !== -7 || !(header.get(4) instanceof Uint8Array)) { throw new Invalid("not ES256"); }
    var kid;
    try { kid = new TextDecoder("utf-8", { fatal: true }).decode(header.get(4)); } catch (e) { throw new Invalid("kid"); }
    return { kid: kid, protected: v[0], payload: v[2], signature: v[3] };
  }

  function statusOf(ref, keySet) {
    // -> {bit, fetchedAt, cached, ttl} or null when this device has no usable list
    var path = sameOriginPath(ref.uri);
    if (!path) { return Promise.resolve(null); }
    return load(path).then(function (got) {
      if (!got) { return null; }
      return got.response.text().then(function (token) {
        var p = token.trim().split(".");
        if (p.length !== 3) { return null; }
        var header = JSON.parse(new TextDecoder().decode(b64u(p[0])));
        var body = JSON.parse(new TextDecoder().decode(b64u(p[1])));
        var jwk = keySet.filter(function (k) { return k && k.kid === header.kid; })[0];
        if (!jwk || header.alg !== "ES256") { return null; }
        return es256(jwk, b64u(p[2]), new TextEncoder().encode(p[0] + "." + p[1])).then(function (ok) {
          var lst = body && body.status_list;
          if (!ok || !lst || [1, 2, 4, 8].indexOf(lst.bits) < 0 || typeof lst.lst !== "string") { return null; }
          return inflate(b64u(lst.lst)).then(function (bits) {
            var i = ref.idx * lst.bits;
            if (Math.floor(i / 8) >= bits.length) { return null; }
            return { bit: (bits[Math.floor(i / 8)] >> (i % 8)) & ((1 << lst.bits) - 1), fetchedAt: got.fetchedAt,
              cached: got.cached, ttl: typeof body.ttl === "number" ? body.ttl : null };
          });
        });
      });
    }).catch(function () { return null; });
  }

  function check(text) {
    var sign1;
    try { sign1 = openSign1(text); } catch (e) { return Promise.resolve({ result: "invalid" }); }
    return load(KEYS_URL).then(function (got) {
      return got ? got.response.json() : { keys: [] };
    }).then(function (set) {
      var keySet = (set && Array.isArray(set.keys)) ? set.keys : [];
      var jwk = keySet.filter(function (k) { return k && k.kid === sign1.kid; })[0];
      if (!jwk) { return { result: "unknown_key" }; }
      var toSign = cbor.encode(["Signature1", sign1.protected, new Uint8Array(0), sign1.payload]);
      return es256(jwk, sign1.signature, toSign).then(function (ok) {
        if (!ok) { return { result: "invalid" }; }
        var claims;
        try { claims = cbor.decode(sign1.payload); } catch (e) { return { result: "invalid" }; }
        var docClaims = claims instanceof Map ? claims.get("doc") : null;
        var status = claims instanceof Map && claims.get(65535) instanceof Map ? claims.get(65535).get("status_list") : null;
        if (!(docClaims instanceof Map) || typeof claims.get(4) !== "number" || !(status instanceof Map)
            || typeof status.get("idx") !== "number" || typeof status.get("uri") !== "string") {
          return { result: "invalid" };
        }
        var base = { claims: claims, doc: docClaims };
        if (claims.get(4) * 1000 < Date.now()) { base.result = "expired"; return base; }
        return statusOf({ idx: status.get("idx"), uri: status.get("uri") }, keySet).then(function (st) {
          base.status = st;
          base.result = st && st.bit !== 0 ? "revoked" : "valid";
          return base;
        });
      });
    });
  }

  // ---------------------------------------------------------------- showing it
  function row(label, value, isolate) {
    if (value === null || value === undefined || value === "") { return; }
    var dt = doc.createElement("dt"), dd = doc.createElement("dd");
    dt.textContent = label;
    if (isolate) {
      var bdi = doc.createElement("bdi");
      bdi.textContent = String(value);
      dd.appendChild(bdi);
    } else {
      dd.textContent = String(value);
    }
    facts.appendChild(dt);
    facts.appendChild(dd);
  }

  function show(out) {
    var labels = JSON.parse(facts.getAttribute("data-labels"));
    verdict.textContent = T[out.result];
    why.textContent = T[out.result + "_why"];
    asOf.textContent = "";
    facts.textContent = "";
    var st = out.status;
    result.classList.remove("stale");
    if (out.result === "valid" || out.result === "revoked") {
      if (!st) {
        asOf.textContent = T.no_status;
      } else if (out.result === "valid" && st.ttl !== null && Date.now() - st.fetchedAt > st.ttl * 1000) {
        asOf.textContent = fill(T.stale, when(st.fetchedAt));
        result.classList.add("stale");
      } else {
        asOf.textContent = fill(st.cached || !navigator.onLine ? T.offline_as_of : T.as_of, when(st.fetchedAt));
      }
    }
    if (out.doc) {
      var d = out.doc, pby = out.claims.get("pby");
      row(labels.holder, d.get("hnm"), true);
      row(labels.national_id, d.get("hid"), true);
      row(labels.type, CONFIG.types[d.get("typ")] || d.get("typ"), true);
      row(labels.issuer, CONFIG.agencies[d.get("agc")] || d.get("agc"), true);
      row(labels.issued, d.get("isd") ? isoDay(d.get("isd")) : "", false);
      row(labels.expires, d.get("exd") ? isoDay(d.get("exd")) : "", false);
      row(labels.share_until, moment(out.claims.get(4) * 1000), false);
      if (pby instanceof Map) {
        row(labels.presented_by, String(pby.get("name")) + " (" + (T[pby.get("role")] || "") + ")", true);
      }
    }
    result.hidden = false;
    result.setAttribute("data-result", out.result);
  }

  function liveLink(text) {
    // online, the same QR's page gives the live result (same service only)
    live.hidden = true;
    try {
      var u = new URL(text.split("#")[0]);
      if (navigator.onLine && u.origin === location.origin && /^\/v\/[A-Za-z0-9_-]{1,200}$/.test(u.pathname)) {
        live.querySelector("a").setAttribute("href", u.pathname);
        live.hidden = false;
      }
    } catch (e) { /* not a URL */ }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = field.value.trim();
    result.removeAttribute("data-result");
    result.removeAttribute("data-note");
    result.hidden = false;
    verdict.textContent = T.checking;
    why.textContent = asOf.textContent = facts.textContent = "";
    check(text).catch(function () { return { result: "invalid" }; }).then(function (out) {
      show(out);
      liveLink(text);
      verdict.focus();
    });
  });

  // ---------------------------------------------------------------- reading QR codes: the browser's, or jsQR
  // BarcodeDetector where the browser has it (and it reads QR codes); otherwise the vendored jsQR
  // (/static/vendor/jsQR.js, loaded on first use from this origin and kept by the service worker for offline use).
  var MAX_SIDE = 1280;  // a frame or a photo is scaled down to this before jsQR reads it (a phone photo is 12 MP)
  var MAX_PHOTO_BYTES = 25 * 1024 * 1024;
  var native = null, jsqr = null;

  function nativeDetector() {
    if (native) { return native; }
    native = !("BarcodeDetector" in window) ? Promise.resolve(null) : Promise.resolve()
      .then(function () { return window.BarcodeDetector.getSupportedFormats ? window.BarcodeDetector.getSupportedFormats() : ["qr_code"]; })
      .then(function (formats) {
        return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      }).catch(function () { return null; });
    return native;
  }

  function loadJsQR() {
    if (jsqr) { return jsqr; }
    jsqr = new Promise(function (resolve, reject) {
      if (window.jsQR) { resolve(window.jsQR); return; }
      var tag = doc.createElement("script");
      tag.src = root.getAttribute("data-decoder");
      tag.onload = function () { if (window.jsQR) { resolve(window.jsQR); } else { reject(new Error("jsQR")); } };
      tag.onerror = function () { jsqr = null; reject(new Error("jsQR")); };
      doc.head.appendChild(tag);
    });
    return jsqr;
  }

  var canvas = null;
  function pixels(source, width, height, side) {
    var scale = Math.min(1, side / Math.max(width, height));
    var w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
    canvas = canvas || doc.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, w, h);
    return ctx.getImageData(0, 0, w, h);
  }

  function reader() {
    // -> a function (source, width, height, thorough) -> Promise<text or null>
    return nativeDetector().then(function (detector) {
      if (detector) {
        return function (source) {
          return detector.detect(source).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        };
      }
      return loadJsQR().then(function (decode) {
        return function (source, width, height, thorough) {
          var sides = thorough ? [MAX_SIDE, 2 * MAX_SIDE] : [MAX_SIDE / 2];
          for (var i = 0; i < sides.length; i += 1) {
            if (i > 0 && Math.max(width, height) <= sides[i - 1]) { break; }  // already read at full size
            var img = pixels(source, width, height, sides[i]);
            var found = decode(img.data, img.width, img.height, { inversionAttempts: thorough ? "attemptBoth" : "dontInvert" });
            if (found && found.data) { return Promise.resolve(found.data); }
          }
          return Promise.resolve(null);
        };
      });
    });
  }

  function readAndCheck(text) {
    field.value = text;
    form.requestSubmit();
  }

  function say(key) {
    // a note instead of a verdict (reading a photo, no QR in it, no camera); data-note names it
    result.removeAttribute("data-result");
    result.setAttribute("data-note", key);
    verdict.textContent = T[key];
    why.textContent = asOf.textContent = facts.textContent = "";
    live.hidden = true;
    result.hidden = false;
  }

  // the camera: frames of the video, a few times a second, until a code is read
  var scan = doc.getElementById("scan");
  var video = doc.getElementById("camera");
  if (scan && video && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    scan.hidden = false;
    var stream = null;
    var stop = function () {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      stream = null;
      video.hidden = true;
      scan.setAttribute("aria-pressed", "false");
    };
    scan.addEventListener("click", function () {
      if (stream) { stop(); return; }
      var read = null;
      reader().then(function (r) {
        read = r;
        return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        scan.setAttribute("aria-pressed", "true");
        return video.play();
      }).then(function tick() {
        if (!stream) { return; }
        var ready = video.readyState >= 2 && video.videoWidth > 0;
        (ready ? read(video, video.videoWidth, video.videoHeight, false) : Promise.resolve(null)).then(function (text) {
          if (text && stream) {
            stop();
            readAndCheck(text);
          } else {
            setTimeout(tick, 250);
          }
        }).catch(function () { setTimeout(tick, 500); });
      }).catch(function () {
        stop();
        say("no_camera");
      });
    });
  }

  // a photo of the QR code (or a picture already on the phone)
  var photo = doc.getElementById("photo");
  var photoPick = doc.getElementById("photo-pick");
  if (photo && photoPick && window.createImageBitmap) {
    photoPick.hidden = false;
    photo.addEventListener("change", function () {
      var file = photo.files && photo.files[0];
      photo.value = "";
      if (!file) { return; }
      if (file.size > MAX_PHOTO_BYTES || (file.type && file.type.indexOf("image/") !== 0)) { say("no_qr_in_photo"); return; }
      say("reading_photo");
      var bitmap = null;
      Promise.all([reader(), createImageBitmap(file)]).then(function (got) {
        bitmap = got[1];
        return got[0](bitmap, bitmap.width, bitmap.height, true);
      }).then(function (text) {
        if (bitmap && bitmap.close) { bitmap.close(); }
        if (text) { readAndCheck(text); } else { say("no_qr_in_photo"); }
      }).catch(function () {
        if (bitmap && bitmap.close) { bitmap.close(); }
        say("no_qr_in_photo");
      });
    });
  }

  // ---------------------------------------------------------------- the worker and the cache
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
  refresh();
  window.addEventListener("online", refresh);
})();
