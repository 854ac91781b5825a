/* The proxies screen (/settings/proxies): grant through the JSON API, asking "Confirm it's you" in place
   (passkeys.js: walletWithStepUp) and trying again; end one after a confirmation in place. Without this file
   the same forms post to the server, which asks for the code on a page of its own. */
(function () {
  "use strict";
  var app = document.getElementById("proxies-app");
  if (!app || !window.walletWithStepUp) { return; }
  var csrf = app.getAttribute("data-csrf"), box = document.getElementById("stepup");
  var t = function (k) { return app.getAttribute("data-t-" + k) || app.getAttribute("data-t-error") || ""; };
  var FIELDS = { proxy_is_self: "proxy_id", invalid_national_id: "proxy_id", invalid_types: "scope-some",
                 invalid_expiry: "expires_on" };

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin",
                 headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.code || "error"); e.status = r.status; e.code = j.code; e.body = j; throw e; }
        return j;
      });
    });
  }

  // the end of the chosen day in Moroccan time, as the server reads the no-script form: the server lists the
  // dates where the offset changes (its time-zone data, not the browser's, which may differ)
  function endOfDay(date) {
    var offset = "+00:00", list = [];
    try { list = JSON.parse(app.getAttribute("data-offsets") || "[]"); } catch (e) { list = []; }
    for (var i = 0; i < list.length && list[i][0] <= date; i++) { offset = list[i][1]; }
    if (!list.length) {
      var d = date.split("-");
      return new Date(+d[0], +d[1] - 1, +d[2], 23, 59, 59).toISOString();
    }
    return date + "T23:59:59" + offset;
  }

  var form = document.getElementById("grant-form"), err = document.getElementById("grant-error");
  function showError(code) {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) { el.removeAttribute("aria-invalid"); });
    if (!code) { err.hidden = true; err.textContent = ""; return; }
    err.textContent = t(code === "step_up_required" || code === "invalid_credentials" ? "error" : code);
    err.hidden = false;
    var field = FIELDS[code] && document.getElementById(FIELDS[code]);
    if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
  }

  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      showError(null);
      var all = form.querySelector("input[name=scope][value=all]").checked;
      var types = Array.prototype.map.call(form.querySelectorAll("input[name=types]:checked"), function (i) { return i.value; });
      var date = form.querySelector("#expires_on").value;
      if (!all && !types.length) { showError("invalid_types"); return; }
      if (!/^\d{4}-\d\d-\d\d$/.test(date)) { showError("invalid_expiry"); return; }
      var body = { proxy_id: form.querySelector("#proxy_id").value.trim(), types: all ? null : types,
                   expires_at: endOfDay(date), can_share: form.querySelector("#can_share").checked };
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      window.walletWithStepUp(function () { return api("POST", "/api/v1/me/mandates", body); }, box, csrf)
        .then(function () {
          window.location.assign("/settings/proxies?done=granted");
        }).catch(function (e) {
          button.disabled = false;
          if (e && e.message === "cancelled") { return; }
          showError(e && e.status === 429 ? "rate_limited" : (e && e.code) || "error");
        });
    });
  }

  function confirmBox(li, open) {
    var confirm = li.querySelector(".proxy-confirm"), actions = li.querySelector(".proxy-actions");
    confirm.hidden = !open;
    actions.hidden = open;
    (open ? confirm.querySelector("[data-end-confirm]") : actions.querySelector("[data-end]")).focus();
  }
  app.addEventListener("click", function (ev) {
    var li = ev.target.closest && ev.target.closest("li[data-mandate]");
    if (!li) { return; }
    if (ev.target.closest("[data-end]")) { ev.preventDefault(); confirmBox(li, true); return; }
    if (ev.target.closest("[data-end-cancel]")) { confirmBox(li, false); return; }
    var btn = ev.target.closest("[data-end-confirm]");
    if (!btn) { return; }
    btn.disabled = true;
    api("DELETE", "/api/v1/me/mandates/" + encodeURIComponent(li.getAttribute("data-mandate"))).then(function () {
      window.location.assign("/settings/proxies?done=ended");
    }).catch(function () {
      btn.disabled = false;
      var status = document.getElementById("proxies-status");
      status.textContent = t("error");
      status.hidden = false;
    });
  });
  app.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    var li = ev.target.closest && ev.target.closest("li[data-mandate]");
    if (li && li.querySelector(".proxy-confirm:not([hidden])")) { confirmBox(li, false); }
  });
}());
