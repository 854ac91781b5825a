/* The share screen: create a share (fetch + CSRF header), show the QR code, count down, share, revoke. */
(function () {
  "use strict";
  var app = document.getElementById("share-app");
  if (!app) { return; }
  var csrf = app.getAttribute("data-csrf");
  var t = function (k) { return app.getAttribute("data-t-" + k) || ""; };
  var timer = null;
  var current = null;

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin",
                 headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error(t("error"));  // the API's detail is English: people get the page's own words
          e.status = r.status; e.code = j.code; e.body = j; e.errors = (j.errors && (j.errors.json || j.errors)) || null;
          throw e;
        }
        return j;
      });
    });
  }

  function putSvg(container, svgText) {
    var doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
    var svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") { return; }
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("shape-rendering", "crispEdges");
    svg.setAttribute("aria-hidden", "true");
    while (container.firstChild) { container.removeChild(container.firstChild); }
    container.appendChild(document.importNode(svg, true));
  }

  function fmt(ms) {
    if (ms <= 0) { return t("expired"); }
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d ? d + "d " : "") + (d || h ? pad(h) + ":" : "") + pad(m) + ":" + pad(sec);
  }

  function tick() {
    if (!current) { return; }
    var left = new Date(current.expires_at).getTime() - Date.now();
    var text = fmt(left);
    document.getElementById("share-countdown").textContent = text;
    document.getElementById("counter-countdown").textContent = text;
    if (left <= 0 && timer) { clearInterval(timer); timer = null; }
  }

  // --- shares made on this phone: their QR code can be shown again until they end (the server keeps only the
  // token's hash). Kept in localStorage, wiped at sign-out by app.js, dropped when the share ends.
  var KEY = "wallet-share:";
  function remember(share) {
    try {
      localStorage.setItem(KEY + share.id, JSON.stringify({ id: share.id, url: share.url, qr_svg: share.qr_svg,
                                                            expires_at: share.expires_at, sheet: !!share.sheet,
                                                            code: share.code || null }));
    } catch (e) { /* private mode or full: the QR just cannot be shown again */ }
  }
  function recall(id) {
    try {
      var kept = JSON.parse(localStorage.getItem(KEY + id) || "null");
      if (kept && new Date(kept.expires_at).getTime() > Date.now()) { return kept; }
      localStorage.removeItem(KEY + id);
    } catch (e) { /* unreadable: forget it */ }
    return null;
  }
  function forget(id) { try { localStorage.removeItem(KEY + id); } catch (e) { /* nothing kept */ } }
  function decorate() {
    // drop what ended, offer "Show the QR code" for live shares made here
    var live = {};
    Array.prototype.forEach.call(document.querySelectorAll("#share-list li[data-share]"), function (li) {
      var id = li.getAttribute("data-share");
      if (li.getAttribute("data-status") !== "active") { forget(id); return; }
      live[id] = true;
      if (!recall(id) || li.querySelector("[data-show-qr]")) { return; }
      var b = document.createElement("button");
      b.type = "button";
      b.className = "s-button s-secondary";
      b.setAttribute("data-show-qr", id);
      b.textContent = t("show-qr");
      var actions = li.querySelector(".s-item-actions");
      if (actions) { actions.insertBefore(b, actions.firstChild); }
    });
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var k = localStorage.key(i);
        if (k && k.indexOf(KEY) === 0 && !live[k.slice(KEY.length)]) { localStorage.removeItem(k); }
      }
    } catch (e) { /* private mode */ }
  }
  function refreshList() {
    // the server renders the list (its dates and words in the page language): fetch the screen, take the list
    return fetch("/share", { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error(t("error"))); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("share-list-section");
        var old = document.getElementById("share-list-section");
        if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
        decorate();
      }).catch(function () {});
  }

  function show(share) {
    current = share;
    putSvg(document.getElementById("share-qr"), share.qr_svg);
    putSvg(document.getElementById("counter-qr"), share.qr_svg);
    document.getElementById("share-url").value = share.url;
    // a counter share's 12 digits, in groups of four, to read out over the phone or type at the counter
    var digits = String(share.code || "").replace(/\D/g, "");
    var grouped = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
    document.getElementById("share-code-digits").textContent = grouped;
    document.getElementById("share-code").hidden = !digits;
    document.getElementById("counter-code").textContent = grouped;
    document.getElementById("counter-code").hidden = !digits;
    document.getElementById("share-sheet").hidden = !share.sheet;
    document.getElementById("share-native").hidden = !navigator.share;
    var section = document.getElementById("share-result");
    section.hidden = false;
    if (timer) { clearInterval(timer); }
    tick();
    timer = setInterval(tick, 1000);
    section.scrollIntoView({ block: "start" });
  }

  function fieldError(name, on) {
    var p = document.querySelector("[data-field-error='" + name + "']");
    var input = document.getElementById(name);
    if (p) { p.textContent = on ? p.getAttribute("data-message") : ""; p.hidden = !on; }
    if (input) { if (on) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); } }
    return p;
  }
  function clearErrors() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-field-error]"), function (p) {
      fieldError(p.getAttribute("data-field-error"), false);
    });
  }
  function showErrors(names) {
    var first = null;
    names.forEach(function (name) {
      if (fieldError(name, true) && !first) { first = document.getElementById(name) || null; }
    });
    var err = document.getElementById("share-error");
    err.textContent = t("check-fields");
    err.hidden = false;
    if (first) { first.focus(); }
  }

  var form = document.getElementById("share-form");
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = document.getElementById("share-error");
      err.hidden = true;
      clearErrors();
      var ids = Array.prototype.map.call(form.querySelectorAll("input[name=document_ids]"), function (i) { return i.value; });
      var maxViews = form.querySelector("#max_views").value.trim();
      var label = form.querySelector("#label").value;
      var bad = [];
      if (maxViews && !(/^[0-9]+$/.test(maxViews) && +maxViews >= 1 && +maxViews <= 10000)) { bad.push("max_views"); }
      if (label.length > 120) { bad.push("label"); }
      if (bad.length) { showErrors(bad); return; }
      var body = {
        document_ids: ids,
        expires_in: parseInt(form.querySelector("#expires_in").value, 10),
        max_views: maxViews ? parseInt(maxViews, 10) : null,
        label: label || null,
        allow_download: form.querySelector("#allow_download").checked
      };
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      // a sensitive document long after sign-in: "Confirm it's you" in place, then the same request again
      var create = function () { return api("POST", "/api/v1/me/shares", body); };
      var made = window.walletWithStepUp ? window.walletWithStepUp(create, document.getElementById("stepup"), csrf)
                                         : create();
      made.then(function (share) {
        remember(share);
        show(share);
        return refreshList();
      }).catch(function (e) {
        if (e.errors && typeof e.errors === "object" && Object.keys(e.errors).length) {
          showErrors(Object.keys(e.errors));
          return;
        }
        if (e.message === "cancelled") { return; }
        err.textContent = e.code === "document_not_shareable" ? t("not-shareable") : t("error");
        err.hidden = false;
      }).then(function () { button.disabled = false; });
    });
  }

  function status(msg) { document.getElementById("share-status").textContent = msg; }

  document.getElementById("share-copy").addEventListener("click", function () {
    var input = document.getElementById("share-url");
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(function () { status(t("copied")); },
        function () { input.select(); status(t("copy-failed")); });
    } else {
      input.select();
      try { document.execCommand("copy"); status(t("copied")); } catch (e) { status(t("copy-failed")); }
    }
  });

  document.getElementById("share-native").addEventListener("click", function () {
    if (!current || !navigator.share) { return; }
    navigator.share({ title: t("share-title"), url: current.url }).catch(function () { /* dismissed */ });
  });

  var counter = document.getElementById("counter");
  document.getElementById("share-counter").addEventListener("click", function () {
    counter.hidden = false;
    if (counter.requestFullscreen) { counter.requestFullscreen().catch(function () {}); }
    document.getElementById("counter-close").focus();
  });
  document.getElementById("counter-close").addEventListener("click", function () {
    counter.hidden = true;
    if (document.fullscreenElement && document.exitFullscreen) { document.exitFullscreen().catch(function () {}); }
    document.getElementById("share-counter").focus();
  });

  function confirmBox(li, open) {
    var box = li.querySelector(".s-confirm"), actions = li.querySelector(".s-item-actions");
    if (!box) { return; }
    box.hidden = !open;
    if (actions) { actions.hidden = open; }
    if (open) { box.querySelector("[data-revoke-confirm]").focus(); }
    else if (actions && actions.querySelector("[data-revoke]")) { actions.querySelector("[data-revoke]").focus(); }
  }

  // the list is replaced after a share is made: listen on the page, not on the list
  app.addEventListener("click", function (ev) {
    var li = ev.target.closest && ev.target.closest("#share-list li[data-share]");
    if (!li) { return; }
    var id = li.getAttribute("data-share");
    if (ev.target.closest("[data-show-qr]")) {
      var kept = recall(id);
      if (kept) { show(kept); } else { decorate(); ev.target.closest("[data-show-qr]").remove(); }
      return;
    }
    if (ev.target.closest("[data-revoke]")) { ev.preventDefault(); confirmBox(li, true); return; }
    if (ev.target.closest("[data-revoke-cancel]")) { confirmBox(li, false); return; }
    var btn = ev.target.closest("[data-revoke-confirm]");
    if (!btn) { return; }
    btn.disabled = true;
    api("DELETE", "/api/v1/me/shares/" + encodeURIComponent(id)).then(function () {
      forget(id);
      li.className = "s-item s-revoked";
      li.setAttribute("data-status", "revoked");
      li.querySelector(".s-item-status").textContent = t("revoked");
      var box = li.querySelector(".s-confirm"), actions = li.querySelector(".s-item-actions");
      if (box) { box.remove(); }
      if (actions) { actions.remove(); }
      if (current && current.id === id) {
        current = null;
        document.getElementById("share-result").hidden = true;
      }
      status(t("revoked"));
      var title = document.getElementById("list-title");
      if (title) { title.focus(); }
    }).catch(function (e) { btn.disabled = false; status(e.message || t("error")); });
  });
  app.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    var li = ev.target.closest && ev.target.closest("#share-list li[data-share]");
    if (li && li.querySelector(".s-confirm:not([hidden])")) { confirmBox(li, false); }
  });

  decorate();
}());
