// The checkpoint page's service worker: it keeps the page and its scripts, so the page opens and
// verifies with the network down. API calls are never answered from here (nor cached: they carry
// personal data); the snapshot lives in IndexedDB, signed.
"use strict";
const CACHE = "healthcode-checkpoint-1";
const SHELL = ["/checkpoint", "/static/app.css", "/static/session.js", "/static/offline.js", "/static/checkpoint.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// The page and scripts from the cache at once, refreshed from the network behind (the next load
// gets a new version); from the network only when not cached yet.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => {
    const cached = await cache.match(url.pathname);
    const fresh = fetch(url.pathname).then((response) => {
      if (response.ok) cache.put(url.pathname, response.clone());
      return response;
    });
    if (cached) {
      event.waitUntil(fresh.catch(() => {}));
      return cached;
    }
    return fresh;
  }));
});
