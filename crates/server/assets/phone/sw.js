// The buyer pages' service worker: keeps the page shells and their assets so an opened
// ticket shows (and produces its code, from the copy the page keeps in localStorage) with no
// network. Pages and assets: network first, the cached copy when offline (every ticket page
// is one shell, so any ticket opened before works offline). The API and login links are
// never cached here: the pages keep what they need themselves.

const CACHE = 'admit-phone-v1';
const SHELL = [
  '/my/tickets',
  '/my/assets/ticket.html',
  '/my/assets/phone.css',
  '/my/assets/list.js',
  '/my/assets/ticket.js',
  '/my/assets/device.js',
  '/my/assets/presentation.js',
  '/my/assets/offline.js',
  '/my/assets/print.js',
  '/my/assets/icon.svg',
  '/my/assets/vendor/qrcode.mjs',
  '/my/manifest.webmanifest',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

/** The cached copy that stands in for `url` when offline. */
function fallbackFor(url) {
  if (/^\/my\/tickets\/[^/]+$/.test(url.pathname)) return '/my/assets/ticket.html';
  return url.pathname;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== location.origin) return;
  const cacheable = url.pathname === '/my/tickets' || url.pathname === '/my/manifest.webmanifest'
    || url.pathname.startsWith('/my/assets/') || /^\/my\/tickets\/[^/]+$/.test(url.pathname);
  if (!cacheable) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      if (response.ok) {
        const key = fallbackFor(url);
        await cache.put(key, response.clone());
      }
      return response;
    } catch (e) {
      const cached = await cache.match(fallbackFor(url));
      if (cached) return cached;
      throw e;
    }
  })());
});
