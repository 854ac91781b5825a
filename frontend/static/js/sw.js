/* Service worker of the citizen wallet.
 * - app shell (CSS, JS, icons, offline page) cached at install, served cache-first;
 * - /wallet, /documents/<id> and their previews: network first, a copy kept in a per-citizen cache
 *   (named by the X-Wallet-Cache header of the response) so opened documents read offline;
 * - a response that is not the signed-in page (redirect to sign-in) wipes the per-citizen caches;
 * - sign-out deletes every cache and unregisters this worker (page JS + Clear-Site-Data);
 * - Web Push: a push (JSON {kind, type, url, lang, as?}, no personal data) is shown in its language with the
 *   texts /sw.js carries (PUSH, from the message catalogues); a tap opens its link (a path of this origin only);
 * - the offline verifier (/verifier): the page and its assets cached at install (and refreshed on each online
 *   visit), the platform's key set and status lists network first, a copy stamped X-Fetched-At kept for offline
 *   checks ("status as of ..."). clients.claim() at activation: the first visit is controlled at once.
 */
"use strict";
var VERSION = "__VERSION__";
var SHELL_CACHE = "shell-" + VERSION;
var SHELL = "__SHELL__";
var USER_PREFIX = "user-";
var VERIFIER_CACHE = "verifier-page-" + VERSION;
var VERIFIER = "__VERIFIER__";
var DATA_CACHE = "verifier-data";
var DATA = /^\/(\.well-known\/wallet-keys\.json|api\/v1\/status-lists(\/[A-Za-z0-9_-]{1,64})?)$/;
var PUSH = "__PUSH__";
var PERSONAL = /^\/(wallet\/?$|documents\/[0-9a-f]{8,64}(\/preview\/\d+\.png)?$)/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (c) { return c.addAll(SHELL); })
    .then(function () {  // the verifier is a bonus: a failure there must not stop the wallet's worker
      return caches.open(VERIFIER_CACHE).then(function (c) { return c.addAll(VERIFIER); }).catch(function () {});
    })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return (k.indexOf("shell-") === 0 && k !== SHELL_CACHE) || (k.indexOf("verifier-page-") === 0 && k !== VERIFIER_CACHE);
    })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function dropUserCaches() {
  return caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf(USER_PREFIX) === 0; })
      .map(function (k) { return caches.delete(k); }));
  });
}

function fromUserCaches(request) {
  return caches.keys().then(function (keys) {
    var names = keys.filter(function (k) { return k.indexOf(USER_PREFIX) === 0; });
    return names.reduce(function (found, name) {
      return found.then(function (hit) {
        return hit || caches.open(name).then(function (c) { return c.match(request, { ignoreVary: true }); });
      });
    }, Promise.resolve(undefined));
  });
}

function personal(event, request) {
  return fetch(request).then(function (response) {
    var owner = response.headers.get("X-Wallet-Cache");
    if (response.ok && owner && !response.redirected) {
      var copy = response.clone();
      event.waitUntil(caches.open(USER_PREFIX + owner).then(function (c) { return c.put(request, copy); }));
    } else if (response.type === "opaqueredirect" || response.redirected || response.status === 401) {
      event.waitUntil(dropUserCaches());  // signed out or session ended: nothing personal stays behind
    }
    return response;
  }, function () {
    return fromUserCaches(request).then(function (hit) {
      if (hit) { return hit; }
      if (request.mode === "navigate") { return caches.match("/offline"); }
      return Response.error();
    });
  });
}

function verifierPage(event, request) {
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      event.waitUntil(caches.open(VERIFIER_CACHE).then(function (c) { return c.put("/verifier", copy); }));
    }
    return response;
  }, function () {
    return caches.match("/verifier", { ignoreSearch: true }).then(function (hit) { return hit || caches.match("/offline"); });
  });
}

function verifierData(event, request) {
  var key = new URL(request.url).pathname;
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      event.waitUntil(copy.arrayBuffer().then(function (body) {
        var headers = new Headers(copy.headers);
        headers.set("X-Fetched-At", String(Date.now()));
        return caches.open(DATA_CACHE).then(function (c) {
          return c.put(key, new Response(body, { status: copy.status, headers: headers }));
        });
      }));
    }
    return response;
  }, function () {
    return caches.open(DATA_CACHE).then(function (c) { return c.match(key); })
      .then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === "/verifier" && request.mode === "navigate") {
    event.respondWith(verifierPage(event, request));
    return;
  }
  if (DATA.test(url.pathname)) {
    event.respondWith(verifierData(event, request));
    return;
  }
  if (PERSONAL.test(url.pathname)) {
    event.respondWith(personal(event, request));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () { return caches.match("/offline"); }));
  }
});

self.addEventListener("message", function (event) {
  if (event.data === "sign-out") { event.waitUntil(dropUserCaches()); }
});

function pushMessage(data) {
  var lang = PUSH.texts[data.lang] ? data.lang : (PUSH.texts.fr ? "fr" : Object.keys(PUSH.texts)[0]);
  var texts = PUSH.texts[lang];
  var key = (data.as === "guardian" ? "guardian." : "") + data.kind;
  var text = texts[key] || texts[data.kind] || texts.other;
  var names = PUSH.types[data.type] || {};
  var url = typeof data.url === "string" && /^\/[A-Za-z0-9/_-]{0,200}$/.test(data.url) ? data.url : "/wallet";
  return {
    title: texts.title,
    options: { body: text.replace("%(type)s", names[lang] || texts.document), lang: lang,
               dir: lang === "ar" ? "rtl" : "ltr", icon: "/static/icons/icon-192.png", data: { url: url },
               tag: data.kind + ":" + url }
  };
}

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var m = pushMessage(data || {});
  event.waitUntil(self.registration.showNotification(m.title, m.options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/wallet", self.location.origin);
  if (url.origin !== self.location.origin) { url = new URL("/wallet", self.location.origin); }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    var open = list.filter(function (c) { return c.url === url.href && "focus" in c; })[0];
    return open ? open.focus() : self.clients.openWindow(url.href);
  }));
});
