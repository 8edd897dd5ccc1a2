// Loading from the server with a copy kept on the phone: the last ticket list and each
// ticket's last answer (with the clock skew seen then) live in localStorage, so an opened
// ticket still shows, and still produces its code, with no network at the venue.

const LIST = 'admit.tickets';
const ticketKey = (id) => `admit.ticket.${id}`;

/**
 * GET `url` as JSON. Resolves `{ status, body, skewMs }` (skewMs: server clock minus ours,
 * measured at the middle of the round trip when the body has `server_time_ms`), or
 * `{ offline: true }` when the network failed.
 */
export async function fetchJSON(url, options = {}) {
  const sent = Date.now();
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', cache: 'no-store', ...options });
  } catch (e) {
    return { offline: true };
  }
  const received = Date.now();
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  const serverTime = body && typeof body.server_time_ms === 'number' ? body.server_time_ms : null;
  const skewMs = serverTime === null ? null : serverTime - (sent + received) / 2;
  return { status: response.status, body, skewMs };
}

function read(key) {
  try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
}

export function saveTicket(ticket, skewMs) {
  localStorage.setItem(ticketKey(ticket.id), JSON.stringify({ ticket, skewMs, savedAt: Date.now() }));
}

/** `{ ticket, skewMs, savedAt }` as last saved, or null. */
export function loadTicket(id) {
  return read(ticketKey(id));
}

export function forgetTicket(id) {
  localStorage.removeItem(ticketKey(id));
}

export function saveList(tickets) {
  localStorage.setItem(LIST, JSON.stringify({ tickets, savedAt: Date.now() }));
}

export function loadList() {
  return read(LIST);
}

/** Shows the "Offline" badge while the browser says it has no network. */
export function watchNetwork(forcedOffline = false) {
  const badge = document.getElementById('network');
  const show = () => { if (badge) badge.hidden = navigator.onLine && !forcedOffline; };
  addEventListener('online', show);
  addEventListener('offline', show);
  show();
  return (offline) => { forcedOffline = offline; show(); };
}

/** Registers the service worker that keeps the pages for offline use. */
export function registerServiceWorker() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/my/sw.js', { scope: '/my/' }).catch(() => {});
  }
}

export function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function statusText(t) {
  const entries = `${t.entries_used} of ${t.max_entries} ${t.max_entries === 1 ? 'entry' : 'entries'} used`;
  switch (t.status) {
    case 'valid': return `Valid · ${entries}`;
    case 'used': return `Used · ${entries}`;
    case 'canceled': return 'Cancelled';
    default: return t.status;
  }
}
