// The ticket page: loads the ticket live (or the copy kept on the phone when offline), binds
// this phone's device key on first open, and shows a dynamic QR code — the credential with a
// time counter and a fresh device signature — refreshed every `rotation_seconds`, with a
// countdown. The QR element carries what it encodes in `data-payload`.

import qrcode from './vendor/qrcode.mjs';
import { deviceKey, isMine, sign } from './device.js';
import { base64url, present, proofMessage } from './presentation.js';
import {
  fetchJSON, forgetTicket, loadTicket, registerServiceWorker, saveTicket, statusText, watchNetwork, when,
} from './offline.js';

const id = decodeURIComponent(location.pathname.split('/')[3] ?? '');
const api = `/my/api/tickets/${encodeURIComponent(id)}`;
const $ = (name) => document.getElementById(name);
const setOffline = watchNetwork();
registerServiceWorker();

let ticket = null; // the API's ticket JSON
let skewMs = 0; // server clock minus this phone's, from the last online load
let key = null; // this device's key, or null when the browser cannot keep one
let keyProblem = '';
let timer = null;

const serverNowSeconds = () => Math.floor((Date.now() + skewMs) / 1000);

function say(text, error = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', error);
  status.hidden = !text;
}

function adopt(t, skew) {
  ticket = t;
  if (typeof skew === 'number') skewMs = skew;
  saveTicket(ticket, skewMs);
}

function renderFields() {
  const t = ticket;
  $('ticket').hidden = false;
  document.title = `${t.event.name} · Admit`;
  $('event-name').textContent = t.event.name;
  const route = t.event.route ? ` · ${t.event.route.from} → ${t.event.route.to}` : '';
  $('event-place').textContent = `${t.event.venue}, ${t.event.city}${route}`;
  $('f-when').textContent = `${when(t.session.starts_at)} (doors ${new Date(t.session.doors_at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })})`;
  $('f-round').textContent = t.session.label;
  $('f-seat').textContent = t.seat ?? 'General admission';
  $('f-quantity').textContent = `${t.quantity} person · ticket of an order of ${t.order_quantity}`;
  $('f-grade').textContent = `${t.grade.name} (${t.grade.code})`;
  $('f-holder').textContent = holderText();
  $('f-status').textContent = statusText(t);
  $('f-reference').textContent = t.reference;
  $('print').href = t.links.print;
  $('print').hidden = !t.credential_policy.static_accepted;
  $('check').disabled = t.status !== 'valid';
}

function holderText() {
  if (!ticket.device) return 'Anyone showing it (not bound to a phone yet)';
  if (key && isMine(key, ticket.device, base64url)) return `This phone (${ticket.device.algorithm} key)`;
  return `Another phone (${ticket.device.algorithm} key)`;
}

function drawQr(text, refused) {
  const qr = qrcode(0, 'L');
  qr.addData(text, text.startsWith('ADP1:') || text.startsWith('ADM1:') ? 'Alphanumeric' : 'Byte');
  qr.make();
  const box = $('qr');
  box.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  box.dataset.payload = text;
  box.dataset.mode = text.startsWith('ADP1:') ? 'dynamic' : 'static';
  box.classList.toggle('refused', refused);
}

function clearQr() {
  const box = $('qr');
  box.replaceChildren();
  delete box.dataset.payload;
  delete box.dataset.mode;
}

/** Draws a fresh presentation now and again every `rotation_seconds`, with a countdown. */
function rotate(refused) {
  clearInterval(timer);
  const period = Math.max(1, ticket.credential_policy.rotation_seconds);
  let left = 0;
  const tick = async () => {
    if (left <= 0) {
      const t = ticket;
      const text = await present(t.credential, t.id, t.version, serverNowSeconds(), (m) => sign(key, m));
      if (t !== ticket) return;
      drawQr(text, refused);
      left = period;
    }
    $('countdown').hidden = false;
    $('countdown').textContent = `New code in ${left} s`;
    left -= 1;
  };
  tick();
  timer = setInterval(tick, 1000);
}

function renderCode() {
  clearInterval(timer);
  $('countdown').hidden = true;
  $('move').hidden = true;
  $('code-warning').hidden = true;
  const t = ticket;
  if (t.status === 'canceled') {
    clearQr();
    $('code-note').textContent = 'This ticket was cancelled.';
    return;
  }
  if (t.device && key && isMine(key, t.device, base64url)) {
    $('code-note').textContent = 'Show this code at the gate. It changes every few seconds; a screenshot will not work.';
    rotate(false);
    return;
  }
  if (t.device && key) {
    $('code-warning').textContent = 'This ticket is bound to another phone: the code below will be refused at the gate.';
    $('code-warning').hidden = false;
    $('code-note').textContent = 'Moving it here stops the other phone’s code from working.';
    $('move').hidden = false;
    rotate(true);
    return;
  }
  if (t.device) {
    clearQr();
    $('code-note').textContent = `This ticket is bound to a phone. ${keyProblem}`;
    return;
  }
  if (t.credential_policy.static_accepted) {
    drawQr(t.credential, false);
    $('code-note').textContent = key
      ? 'Not bound to this phone yet (it will be when you are online). This static code works only where printed tickets are accepted.'
      : `${keyProblem} This static code works only where printed tickets are accepted.`;
  } else {
    clearQr();
    $('code-note').textContent = 'Open this ticket online once so it can be bound to this phone.';
  }
}

function render() {
  renderFields();
  renderCode();
}

/** Registers this phone's key for the ticket (proving possession); `rebind` moves it here. */
async function bind(rebind, retried = false) {
  const t = ticket;
  const counter = serverNowSeconds();
  const proof = await sign(key, proofMessage(t.id, t.version, counter));
  const answer = await fetchJSON(`${api}/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      algorithm: key.algorithm,
      public_key: base64url(key.publicRaw),
      version: t.version,
      counter,
      proof: base64url(proof),
      rebind,
    }),
  });
  if (answer.offline) {
    say('Offline: this ticket will be bound to this phone when you are back online.');
    return;
  }
  if (answer.status === 200) {
    adopt(answer.body, answer.skewMs);
    say('');
    return;
  }
  const type = answer.body?.type ?? '';
  if (!retried && (type.endsWith('/ticket-version-changed') || type.endsWith('/device-proof-stale'))) {
    if (await reload()) return bind(rebind, true);
  }
  if (type.endsWith('/device-already-bound')) return; // shown as "bound to another phone"
  say(answer.body?.detail ?? 'This phone could not be registered for the ticket.', true);
}

/** Loads the ticket from the server; false when offline or refused. */
async function reload() {
  const answer = await fetchJSON(api);
  if (answer.offline || answer.status >= 500) {
    setOffline(!!answer.offline);
    return false;
  }
  setOffline(false);
  if (answer.status === 200) {
    adopt(answer.body, answer.skewMs);
    return true;
  }
  if (answer.status === 404) forgetTicket(id);
  ticket = null;
  $('ticket').hidden = true;
  clearInterval(timer);
  say(answer.status === 401
    ? 'Open the login link from your order confirmation on this phone to see this ticket.'
    : answer.body?.detail ?? 'This ticket could not be loaded.', true);
  return false;
}

async function start() {
  try {
    key = await deviceKey();
  } catch (e) {
    keyProblem = 'This browser cannot keep a device key, so it can only show the static code.';
  }
  const online = await reload();
  if (!online) {
    if (ticket) return; // refused: the message is shown
    const saved = loadTicket(id);
    if (!saved) {
      if (!$('status').classList.contains('error')) say('No network, and this ticket was never opened on this phone.', true);
      return;
    }
    ticket = saved.ticket;
    skewMs = saved.skewMs ?? 0;
    say(`Offline: ticket as of ${new Date(saved.savedAt).toLocaleString()}.`);
    render();
    return;
  }
  say('');
  if (key && !ticket.device && ticket.status !== 'canceled') {
    await bind(false);
  }
  render();
}

$('move').addEventListener('click', async () => {
  const button = $('move');
  if (!button.classList.contains('confirm')) {
    button.classList.add('confirm');
    button.textContent = 'Tap again: move it here (the other phone stops working)';
    return;
  }
  button.disabled = true;
  await bind(true);
  button.disabled = false;
  button.classList.remove('confirm');
  button.textContent = 'Move to this phone';
  render();
});

$('check').addEventListener('click', async () => {
  const button = $('check');
  if (!button.classList.contains('confirm')) {
    button.classList.add('confirm');
    button.textContent = 'Tap again to check in (uses one entry)';
    return;
  }
  button.disabled = true;
  const answer = await fetchJSON(ticket.links.inspection, {
    method: 'POST',
    headers: { 'Idempotency-Key': `inspection-${ticket.id}-${crypto.randomUUID?.() ?? Date.now()}` },
  });
  button.classList.remove('confirm');
  button.textContent = 'Check';
  if (answer.offline) {
    button.disabled = false;
    say('Checking needs the network: the ID and password are fetched live.', true);
    return;
  }
  if (answer.status !== 200) {
    button.disabled = false;
    say(answer.body?.detail ?? 'The check failed.', true);
    return;
  }
  const r = answer.body;
  $('inspection').hidden = false;
  $('inspection-verdict').textContent = r.verdict === 'admit' ? 'CHECKED IN' : r.reason === 'already_used' ? 'ALREADY USED' : 'NOT ADMITTED';
  $('inspection-verdict').className = `verdict ${r.verdict}`;
  $('inspection-id').textContent = r.inspection_id ?? '—';
  $('inspection-password').textContent = r.inspection_password ?? '—';
  $('inspection-message').textContent = `${r.message} ${new Date(r.inspected_at).toLocaleTimeString()}`;
  await reload();
  if (ticket) render();
});

start();
