/* "Notify me" on the wallet page (Web Push). Permission is asked only after the tap; the subscription is made
   with the server's VAPID key and posted to /api/v1/me/push-subscriptions; "Turn off" unsubscribes this browser
   and tells the server. Without service workers, PushManager or Notification the box stays hidden. */
(function () {
  "use strict";
  var box = document.getElementById("push-box");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) { return; }
  var on = document.getElementById("push-on"), off = document.getElementById("push-off"),
      status = document.getElementById("push-status"), csrf = box.getAttribute("data-csrf"),
      lang = box.getAttribute("data-lang");
  function t(k) { return box.getAttribute("data-t-" + k) || ""; }
  function show(state, message) {
    box.hidden = false;
    box.setAttribute("data-state", state);
    on.hidden = state === "on" || state === "blocked";
    off.hidden = state !== "on";
    on.disabled = off.disabled = false;
    status.textContent = message;
  }
  function key(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
    return out;
  }
  function call(method, url, body) {
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
                        body: body ? JSON.stringify(body) : undefined }).then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          var e = new Error(j.code || "error"); e.code = j.code; throw e;
        });
      }
      return r.status === 204 ? {} : r.json();
    });
  }
  function registration() { return navigator.serviceWorker.register("/sw.js", { scope: "/" })
    .then(function () { return navigator.serviceWorker.ready; }); }

  on.addEventListener("click", function () {
    on.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { show(permission === "denied" ? "blocked" : "off", permission === "denied" ? t("blocked") : t("off")); return null; }
      return Promise.all([registration(), call("GET", "/api/v1/push/vapid-public-key")]).then(function (got) {
        var reg = got[0];
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(got[1].public_key) })
          .then(function (sub) {
            var json = sub.toJSON();
            json.lang = lang;
            return call("POST", "/api/v1/me/push-subscriptions", json).then(function () { show("on", t("on")); },
              function (e) { return sub.unsubscribe().catch(function () {}).then(function () { throw e; }); });
          });
      });
    }).catch(function (e) { show("off", e && e.code === "push_subscriptions_full" ? t("full") : t("error")); });
  });

  off.addEventListener("click", function () {
    off.disabled = true;
    navigator.serviceWorker.ready.then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) { return null; }
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () {
          return call("DELETE", "/api/v1/me/push-subscriptions", { endpoint: endpoint });
        });
      })
      .then(function () { show("off", t("off")); }, function () { show("off", t("off")); });
  });

  /* Is this browser's subscription still one the server sends to? Signing out (here, from another device, or
     everywhere) ends it on the server; the page then ends it in the browser too and says "off". The server lists
     the SHA-256 of its endpoints (data-known); without WebCrypto (not a secure context) the browser's word is kept. */
  var known = (box.getAttribute("data-known") || "").split(" ");
  function stillKnown(sub) {
    if (!window.crypto || !crypto.subtle || !window.TextEncoder) { return Promise.resolve(true); }
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(sub.endpoint)).then(function (d) {
      var hex = Array.prototype.map.call(new Uint8Array(d), function (b) { return ("0" + b.toString(16)).slice(-2); });
      return known.indexOf(hex.join("")) >= 0;
    });
  }

  if (Notification.permission === "denied") { show("blocked", t("blocked")); return; }
  navigator.serviceWorker.getRegistration("/").then(function (reg) {
    return reg ? reg.pushManager.getSubscription() : null;
  }).then(function (sub) {
    if (!sub || Notification.permission !== "granted") { show("off", ""); return null; }
    return stillKnown(sub).then(function (yes) {
      if (yes) { show("on", t("on")); return null; }
      return sub.unsubscribe().catch(function () {}).then(function () { show("off", ""); });
    });
  }).catch(function () { show("off", ""); });
})();
