/* Citizen wallet: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";
  var doc = document;

  // --- service worker (offline reading of opened documents)
  if ("serviceWorker" in navigator && !doc.querySelector("[data-no-sw]")) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }

  // --- offline indicator
  var banner = doc.getElementById("offline");
  function showOnline() { if (banner) { banner.hidden = navigator.onLine; } }
  window.addEventListener("online", showOnline);
  window.addEventListener("offline", showOnline);
  showOnline();

  // --- sign-out: wipe everything this browser kept
  function wipe() {
    var jobs = [];
    try { window.localStorage.clear(); window.sessionStorage.clear(); } catch (e) { /* private mode */ }
    if (window.caches) {
      jobs.push(caches.keys().then(function (keys) {
        return Promise.all(keys.map(function (k) { return caches.delete(k); }));
      }));
    }
    if ("serviceWorker" in navigator) {
      jobs.push(navigator.serviceWorker.getRegistrations().then(function (regs) {
        return Promise.all(regs.map(function (r) { return r.unregister(); }));
      }));
    }
    return Promise.all(jobs).catch(function () {});
  }
  Array.prototype.forEach.call(doc.querySelectorAll("form[data-logout]"), function (form) {
    // The form posts at once: the server ends the session whatever happens next in this page, and answers
    // with Clear-Site-Data. The local wipe runs alongside (and again on the signed-out page).
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      if (button) { setTimeout(function () { button.disabled = true; }, 0); }
      wipe();  // clears web storage synchronously, then caches and the worker
      try { sessionStorage.setItem("wallet-signed-out", "1"); } catch (e) { /* private mode */ }
    });
  });
  try {
    if (sessionStorage.getItem("wallet-signed-out")) { sessionStorage.removeItem("wallet-signed-out"); wipe(); }
  } catch (e) { /* private mode */ }

  // (the activity list is rendered by the server: /activity needs no script)
})();
