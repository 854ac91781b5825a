/* Passkeys (WebAuthn): sign in with one alone (login page), add and remove them (/settings/passkeys), and the
   inline "Confirm it's you" step (window.walletStepUp) that other screens show on a step_up_required answer.
   The server sends options as JSON with base64url binary members; the browser wants ArrayBuffers. */
(function () {
  "use strict";

  function b64u(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64u(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
    return out.buffer;
  }
  function descriptors(list) {
    return (list || []).map(function (d) { return { type: d.type, id: unb64u(d.id), transports: d.transports }; });
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = unb64u(o.challenge);
    pk.user = Object.assign({}, o.user, { id: unb64u(o.user.id) });
    pk.excludeCredentials = descriptors(o.excludeCredentials);
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = unb64u(o.challenge);
    if (o.allowCredentials) { pk.allowCredentials = descriptors(o.allowCredentials); }
    return { publicKey: pk };
  }
  function credentialJSON(c) {
    var r = c.response, out = { id: c.id, rawId: b64u(c.rawId), type: c.type, response: {
      clientDataJSON: b64u(r.clientDataJSON) }, clientExtensionResults: {} };
    if (r.attestationObject) { out.response.attestationObject = b64u(r.attestationObject); }
    if (r.authenticatorData) {
      out.response.authenticatorData = b64u(r.authenticatorData);
      out.response.signature = b64u(r.signature);
      if (r.userHandle) { out.response.userHandle = b64u(r.userHandle); }
    }
    if (c.authenticatorAttachment) { out.authenticatorAttachment = c.authenticatorAttachment; }
    return out;
  }

  function post(url, body, csrf) {
    var headers = { "Accept": "application/json", "Content-Type": "application/json" };
    if (csrf) { headers["X-CSRF-Token"] = csrf; }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers,
                        body: JSON.stringify(body || {}) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.code || "error"); e.status = r.status; e.code = j.code; e.body = j; throw e; }
        return j;
      });
    });
  }
  function supported() { return !!(window.PublicKeyCredential && navigator.credentials); }
  function show(el, text) { if (el) { el.textContent = text; el.hidden = !text; } }

  /* The inline step-up: a box rendered by _stepup.html (hidden), shown on step_up_required. Resolves when the
     session is stepped up (the caller then retries its action); rejects if the person cancels. */
  window.walletStepUp = function (box, csrf, methods) {
    return new Promise(function (resolve, reject) {
      var form = box.querySelector("[data-stepup-form]"), otp = box.querySelector("[data-stepup-otp]"),
          pkButton = box.querySelector("[data-stepup-passkey]"), err = box.querySelector("[data-stepup-error]"),
          cancel = box.querySelector("[data-stepup-cancel]"), t = function (k) { return box.getAttribute("data-t-" + k) || ""; };
      box.hidden = false;
      pkButton.hidden = !(supported() && methods && methods.indexOf("passkey") >= 0);
      box.querySelector('[data-stepup-text="otp"]').hidden = !pkButton.hidden;
      box.querySelector('[data-stepup-text="passkey"]').hidden = pkButton.hidden;
      show(err, "");
      otp.value = "";
      otp.focus();
      function done() { box.hidden = true; form.onsubmit = null; pkButton.onclick = null; cancel.onclick = null; }
      function failed(e) { show(err, e && e.status === 429 ? t("too-many") : t("wrong")); }
      form.onsubmit = function (ev) {
        ev.preventDefault();
        post("/api/v1/auth/step-up", { otp: otp.value }, csrf).then(function () { done(); resolve(); }, failed);
      };
      pkButton.onclick = function () {
        post("/api/v1/auth/step-up/options", {}, csrf).then(function (o) {
          return navigator.credentials.get(requestOptions(o));
        }).then(function (c) {
          return post("/api/v1/auth/step-up", { credential: credentialJSON(c) }, csrf);
        }).then(function () { done(); resolve(); }, failed);
      };
      cancel.onclick = function () { done(); reject(new Error("cancelled")); };
    });
  };

  /* with a step-up box on the page: run action(), and once more after "Confirm it's you" if it asked */
  function withStepUp(action, box, csrf) {
    return action().catch(function (e) {
      if (e.code !== "step_up_required" || !box) { throw e; }
      return window.walletStepUp(box, csrf, (e.body && e.body.methods) || ["otp"]).then(action);
    });
  }
  window.walletWithStepUp = withStepUp;

  // --- the login page: sign in with a passkey alone (discoverable: no ID to type)
  var login = document.getElementById("passkey-login");
  if (login) {
    if (!supported()) { login.hidden = true; }
    login.addEventListener("click", function () {
      var err = document.getElementById("passkey-error");
      show(err, "");
      login.disabled = true;
      post("/api/v1/auth/passkeys/login/options", {}).then(function (o) {
        return navigator.credentials.get(requestOptions(o));
      }).then(function (c) {
        return post("/api/v1/auth/passkeys/login", { credential: credentialJSON(c) });
      }).then(function () {
        var next = login.getAttribute("data-next");
        window.location.assign(next && next.charAt(0) === "/" && next.charAt(1) !== "/" ? next : "/wallet");
      }).catch(function () {
        show(err, login.getAttribute("data-t-error"));
        login.disabled = false;
      });
    });
  }

  // --- /settings/passkeys: add one, remove one (both may ask "Confirm it's you" first)
  var page = document.getElementById("passkeys-app");
  if (page) {
    var csrf = page.getAttribute("data-csrf"), box = document.getElementById("stepup"),
        status = document.getElementById("passkeys-status"), add = document.getElementById("passkey-add"),
        t = function (k) { return page.getAttribute("data-t-" + k) || ""; };
    if (!supported()) { add.disabled = true; show(status, t("unsupported")); }
    add.addEventListener("click", function () {
      var name = document.getElementById("passkey-name").value.trim() || t("default-name");
      add.disabled = true;
      show(status, "");
      withStepUp(function () {
        return post("/api/v1/auth/passkeys/register/options", {}, csrf).then(function (o) {
          return navigator.credentials.create(creationOptions(o));
        }).then(function (c) {
          return post("/api/v1/auth/passkeys/register", { credential: credentialJSON(c), name: name }, csrf);
        });
      }, box, csrf).then(function () {
        window.location.assign("/settings/passkeys?added=1");
      }).catch(function (e) {
        add.disabled = false;
        if (e && e.message !== "cancelled") { show(status, t("error")); }
      });
    });
    page.addEventListener("click", function (ev) {
      var btn = ev.target.closest && ev.target.closest("[data-passkey-remove]");
      if (!btn) { return; }
      btn.disabled = true;
      var id = btn.getAttribute("data-passkey-remove");
      withStepUp(function () {
        return fetch("/api/v1/me/passkeys/" + encodeURIComponent(id), { method: "DELETE", credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } }).then(function (r) {
          if (r.ok) { return r; }
          return r.json().catch(function () { return {}; }).then(function (j) {
            var e = new Error(j.code || "error"); e.code = j.code; e.body = j; throw e;
          });
        });
      }, box, csrf).then(function () {
        window.location.assign("/settings/passkeys?removed=1");
      }).catch(function (e) {
        btn.disabled = false;
        if (e && e.message !== "cancelled") { show(status, t("error")); }
      });
    });
  }
}());
