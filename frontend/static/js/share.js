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
        if (!r.ok) { var e = new Error(j.detail || t("error")); e.status = r.status; throw e; }
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

  function show(share) {
    current = share;
    putSvg(document.getElementById("share-qr"), share.qr_svg);
    putSvg(document.getElementById("counter-qr"), share.qr_svg);
    document.getElementById("share-url").value = share.url;
    document.getElementById("share-sheet").hidden = !share.sheet;
    document.getElementById("share-native").hidden = !navigator.share;
    var section = document.getElementById("share-result");
    section.hidden = false;
    if (timer) { clearInterval(timer); }
    tick();
    timer = setInterval(tick, 1000);
    section.scrollIntoView({ block: "start" });
  }

  var form = document.getElementById("share-form");
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = document.getElementById("share-error");
      err.hidden = true;
      var ids = Array.prototype.map.call(form.querySelectorAll("input[name=document_ids]"), function (i) { return i.value; });
      var maxViews = form.querySelector("#max_views").value;
      var body = {
        document_ids: ids,
        expires_in: parseInt(form.querySelector("#expires_in").value, 10),
        max_views: maxViews ? parseInt(maxViews, 10) : null,
        label: form.querySelector("#label").value || null,
        allow_download: form.querySelector("#allow_download").checked
      };
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      api("POST", "/api/v1/me/shares", body).then(show).catch(function (e) {
        err.textContent = e.message || t("error");
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

  document.getElementById("share-list").addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-revoke]");
    if (!btn) { return; }
    btn.disabled = true;
    api("DELETE", "/api/v1/me/shares/" + encodeURIComponent(btn.getAttribute("data-revoke"))).then(function () {
      var li = btn.closest("li");
      li.className = "s-item s-revoked";
      li.querySelector(".s-item-status").textContent = t("revoked");
      btn.remove();
      if (current && current.id === li.getAttribute("data-share")) {
        document.getElementById("share-result").hidden = true;
      }
    }).catch(function (e) { btn.disabled = false; status(e.message || t("error")); });
  });
}());
