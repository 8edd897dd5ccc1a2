// The browser gate page (online mode). Staff sign in with their staff token (kept in
// localStorage, sent only in the Authorization header, never in a URL), pick a gate and a
// session from GET /gate/places, then every code read by the camera or typed/wedge-scanned
// into the code field goes to POST /gate/scans with an Idempotency-Key, and the answer fills
// the full-screen verdict. The page never admits on its own: no answer means an amber
// "NO CONNECTION — not admitted" screen whose Retry re-sends with the same key, so a scan
// that did reach the server gets its first verdict back instead of "already used".

import { cameraUnavailable, startCamera } from './camera.js';

const TOKEN_KEY = 'admit.gate.token';
const PLACE_KEY = 'admit.gate.place';
/** A code the camera reads again within this long of its last sighting is not sent again. */
const DEBOUNCE_MS = 3000;
/** The gate's admitted count is re-read from the server at most this often. */
const COUNT_REFRESH_MS = 10000;
/** After a verdict the camera ignores codes this long (the person is still in front of it). */
const CAMERA_PAUSE_MS = 1500;
const SCAN_TIMEOUT_MS = 8000;
const SHOW_ADMIT_MS = 3000;
const SHOW_DENY_MS = 8000;

const $ = (id) => document.getElementById(id);

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  places: null,
  place: readPlace(),
  camera: null,
  last: null, // { code, seenAt, verdict } of the last code handled
  pending: false,
  verdictShownAt: 0,
  hideTimer: null,
  seq: 0,
  audio: null,
  admitted: null, // people admitted at this gate for this session (server count + admits since)
  countTimer: null,
};

function readPlace() {
  try {
    const p = JSON.parse(localStorage.getItem(PLACE_KEY) || 'null');
    return p && Number.isInteger(p.gate_id) && Number.isInteger(p.session_id) ? p : null;
  } catch (_) {
    return null;
  }
}

// ---- screens --------------------------------------------------------------------------------

function show(screen) {
  for (const id of ['signin', 'setup', 'scan']) $(id).hidden = id !== screen;
  document.body.dataset.screen = screen;
  const focus = { signin: 'token', setup: 'gate', scan: 'code' }[screen];
  if (focus) $(focus).focus();
}

function signOut(message) {
  stopCamera();
  hideVerdict();
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(PLACE_KEY);
  Object.assign(state, { token: null, places: null, place: null, last: null });
  $('token').value = '';
  $('signin-error').textContent = message || '';
  show('signin');
}

/** GET with the staff token; resolves to the Response, rejects only on network failure. */
function authorised(path, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set('Authorization', `Bearer ${state.token}`);
  return fetch(path, { ...init, headers, cache: 'no-store', credentials: 'omit' });
}

async function problemDetail(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || `HTTP ${response.status}`;
  } catch (_) {
    return `HTTP ${response.status}`;
  }
}

// ---- sign-in and choosing a gate and session ------------------------------------------------

async function loadPlaces() {
  const response = await authorised('/gate/places');
  if (response.status === 401) {
    signOut('That staff token is not valid (any more). Check it and sign in again.');
    return false;
  }
  if (!response.ok) throw new Error(await problemDetail(response));
  state.places = await response.json();
  return true;
}

async function onSignIn(event) {
  event.preventDefault();
  unlockAudio();
  const token = $('token').value.trim();
  if (!token) {
    $('signin-error').textContent = 'Enter your staff token.';
    return;
  }
  $('signin-error').textContent = 'Signing in…';
  state.token = token;
  try {
    if (!(await loadPlaces())) return;
  } catch (e) {
    state.token = null;
    $('signin-error').textContent = `Could not reach the server: ${e.message}. Try again.`;
    return;
  }
  localStorage.setItem(TOKEN_KEY, token);
  $('signin-error').textContent = '';
  openSetup();
}

function sessionText(s) {
  const when = new Date(s.starts_at).toLocaleString([], {
    weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
  return `${s.label} · ${when} · ${s.event_name}`;
}

function fillGates() {
  const select = $('gate');
  select.replaceChildren();
  for (const venue of state.places.venues) {
    const group = document.createElement('optgroup');
    group.label = `${venue.name}, ${venue.city}`;
    for (const gate of venue.gates) group.append(new Option(gate.name, String(gate.id)));
    select.append(group);
  }
  if (state.place && [...select.options].some((o) => o.value === String(state.place.gate_id))) {
    select.value = String(state.place.gate_id);
  }
}

function venueOfGate(gateId) {
  return state.places.venues.find((v) => v.gates.some((g) => g.id === gateId));
}

function fillSessions() {
  const select = $('session');
  select.replaceChildren();
  const venue = venueOfGate(Number($('gate').value));
  const sessions = venue ? state.places.sessions.filter((s) => s.venue_id === venue.id) : [];
  for (const s of sessions) select.append(new Option(sessionText(s), String(s.id)));
  if (state.place && sessions.some((s) => s.id === state.place.session_id)) {
    select.value = String(state.place.session_id);
  }
  const none = !venue ? 'You have no gates: ask your organiser to set up a venue.'
    : sessions.length === 0 ? `No sessions at ${venue.name} from now until a week ahead.` : '';
  $('setup-error').textContent = none;
  $('start').disabled = Boolean(none);
}

function openSetup() {
  stopCamera();
  fillGates();
  fillSessions();
  show('setup');
}

function onStart(event) {
  event.preventDefault();
  unlockAudio();
  const gateId = Number($('gate').value);
  const sessionId = Number($('session').value);
  const venue = venueOfGate(gateId);
  const gate = venue && venue.gates.find((g) => g.id === gateId);
  const session = state.places.sessions.find((s) => s.id === sessionId);
  if (!gate || !session) {
    $('setup-error').textContent = 'Choose a gate and a session.';
    return;
  }
  state.place = {
    gate_id: gateId,
    session_id: sessionId,
    where: `${gate.name} · ${venue.name} — ${session.event_name}, ${session.label}`,
    event: session.event_name,
  };
  state.admitted = null;
  localStorage.setItem(PLACE_KEY, JSON.stringify(state.place));
  openScan();
}

// ---- scanning -------------------------------------------------------------------------------

function openScan() {
  $('where').textContent = state.place.where || `Gate ${state.place.gate_id}, session ${state.place.session_id}`;
  $('last').textContent = '';
  renderAdmitted();
  refreshAdmitted();
  show('scan');
  const why = cameraUnavailable();
  if (why) {
    $('camera-status').textContent = why;
    $('camera-toggle').hidden = true;
  } else {
    toggleCamera();
  }
}

async function toggleCamera() {
  if (state.camera) {
    stopCamera();
    return;
  }
  const button = $('camera-toggle');
  button.disabled = true;
  $('camera-status').textContent = 'Starting the camera…';
  try {
    state.camera = await startCamera($('video'), (code) => {
      const again = state.last && state.last.code === code.trim();
      if (!again && Date.now() - state.verdictShownAt < CAMERA_PAUSE_MS) return;
      submit(code, 'camera');
    });
    if (document.body.dataset.screen !== 'scan') {
      stopCamera();
      return;
    }
    document.body.dataset.decoder = state.camera.decoder;
    $('video').classList.add('live');
    $('camera-status').textContent = `Camera on (${state.camera.decoder}). Hold the code in view.`;
    button.textContent = 'Stop camera';
  } catch (e) {
    $('camera-status').textContent = e.message;
    button.textContent = 'Start camera';
  } finally {
    button.disabled = false;
  }
}

function stopCamera() {
  if (state.camera) state.camera.stop();
  state.camera = null;
  $('video').classList.remove('live');
  $('camera-toggle').textContent = 'Start camera';
  $('camera-status').textContent = 'Camera off.';
}

function onCodeSubmit(event) {
  event.preventDefault();
  unlockAudio();
  const input = $('code');
  const code = input.value;
  input.value = '';
  submit(code, 'typed');
}

/**
 * Every code, from the camera or the field, comes through here. A code the camera sees again
 * within DEBOUNCE_MS of its last sighting is not sent again (held in view, it stays quiet). A
 * code typed or wedge-scanned is always sent, repeat or not: every verdict on screen is the
 * server's answer to that very scan, never an earlier one shown again.
 */
function submit(raw, source) {
  const code = raw.trim();
  if (!code) return;
  if (state.pending) {
    if (source === 'typed') $('last').textContent = 'Still checking the previous code: scan this one again in a moment.';
    return;
  }
  const now = Date.now();
  const last = state.last;
  if (source === 'camera' && last && last.code === code && now - last.seenAt < DEBOUNCE_MS) {
    last.seenAt = now;
    return;
  }
  state.last = { code, seenAt: now, verdict: null };
  send(code, newIdempotencyKey());
}

function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `gate-page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function send(code, key) {
  state.pending = true;
  $('last').textContent = 'Checking…';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), SCAN_TIMEOUT_MS);
  let verdict;
  try {
    const response = await authorised('/gate/scans', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ credential: code, gate_id: state.place.gate_id, session_id: state.place.session_id }),
      signal: controller.signal,
    });
    if (response.status === 401) {
      state.pending = false;
      signOut('Your staff token is no longer accepted. Sign in again.');
      return;
    }
    if (response.ok) {
      verdict = { kind: 'answer', answer: await response.json() };
    } else if (response.status >= 500) {
      verdict = { kind: 'offline', detail: 'The server could not answer.', code, key };
    } else {
      verdict = { kind: 'error', detail: await problemDetail(response), code, key };
    }
  } catch (e) {
    const detail = e.name === 'AbortError' ? 'No answer in time.' : 'The server cannot be reached.';
    verdict = { kind: 'offline', detail, code, key };
  } finally {
    clearTimeout(timer);
    state.pending = false;
  }
  if (state.last && state.last.code === code) state.last.verdict = verdict;
  if (verdict.kind === 'answer' && verdict.answer.verdict === 'admit' && state.admitted !== null) {
    state.admitted += verdict.answer.admits;
  }
  showVerdict(verdict);
  scheduleAdmittedRefresh();
}

// ---- the gate's running count ---------------------------------------------------------------

/** People admitted at this gate for this session, from the server's entry counts (every
 * device and terminal at the gate, online and uploaded). Failures keep the last count. */
async function refreshAdmitted() {
  const place = state.place;
  if (!place) return;
  try {
    const response = await authorised(`/sessions/${place.session_id}/entries?bucket=hour`);
    if (!response.ok) return;
    const body = await response.json();
    if (state.place !== place) return;
    state.admitted = body.rows
      .filter((r) => r.gate_id === place.gate_id)
      .reduce((sum, r) => sum + r.online + r.offline, 0);
    renderAdmitted();
  } catch (_) {
    // Offline: the count waits for the network like every scan does.
  }
}

function scheduleAdmittedRefresh() {
  renderAdmitted();
  if (state.admitted === null) {
    refreshAdmitted(); // not known yet (the first read is still on its way, or failed): ask now
    return;
  }
  if (state.countTimer) return;
  state.countTimer = setTimeout(() => {
    state.countTimer = null;
    refreshAdmitted();
  }, COUNT_REFRESH_MS);
}

function admittedText() {
  return state.admitted === null ? '—' : String(state.admitted);
}

function renderAdmitted() {
  $('admitted').textContent = `Admitted at this gate: ${admittedText()}`;
  $('verdict-admitted').textContent = admittedText();
}

// ---- the verdict screen ---------------------------------------------------------------------

const WORDS = { admit: 'ADMIT', deny: 'DENY', offline: 'NO CONNECTION', error: 'NOT CHECKED' };

const sentence = (text) => (text ? text.charAt(0).toUpperCase() + text.slice(1) : '');

/** What the verdict screen shows for a server answer or for a scan that got none. */
function verdictFields(verdict) {
  const none = { seat: '—', count: '0', grade: '—', ticket: '—', entries: '—', time: new Date().toLocaleTimeString() };
  if (verdict.kind === 'offline') {
    return { ...none, state: 'offline', reason: '', message: `Not admitted — retry. ${verdict.detail}` };
  }
  if (verdict.kind === 'error') {
    return { ...none, state: 'error', reason: '', message: `Not admitted. ${verdict.detail}` };
  }
  const v = verdict.answer;
  const admit = v.verdict === 'admit';
  return {
    state: admit ? 'admit' : 'deny',
    reason: v.reason || '',
    message: sentence(v.message),
    seat: v.ticket ? v.ticket.seat || 'General admission' : '—',
    count: admit ? `${v.admits} ${v.admits === 1 ? 'person' : 'people'}` : '0',
    grade: v.ticket ? v.ticket.grade : '—',
    time: new Date(v.scanned_at).toLocaleTimeString(),
    ticket: v.ticket ? v.ticket.reference : '—',
    entries: v.entries_used != null ? `${v.entries_used} of ${v.max_entries}` : '—',
  };
}

function showVerdict(verdict) {
  const box = $('verdict');
  const f = verdictFields(verdict);
  $('verdict-word').textContent = WORDS[f.state];
  $('verdict-event').textContent = state.place.event || state.place.where || '';
  $('verdict-admitted').textContent = admittedText();
  for (const name of ['message', 'seat', 'count', 'grade', 'time', 'ticket', 'entries']) {
    $(`verdict-${name}`).textContent = f[name];
  }
  $('verdict-retry').hidden = f.state !== 'offline';
  state.seq += 1;
  Object.assign(box.dataset, { state: f.state, reason: f.reason, seq: String(state.seq) });
  box.hidden = false;
  state.verdictShownAt = Date.now();
  $('last').textContent = `Last: ${WORDS[f.state]} — ${f.message}`;
  clearTimeout(state.hideTimer);
  if (f.state === 'admit') state.hideTimer = setTimeout(hideVerdict, SHOW_ADMIT_MS);
  else if (f.state === 'deny') state.hideTimer = setTimeout(hideVerdict, SHOW_DENY_MS);
  if (f.state !== 'admit') alarm(box);
}

function hideVerdict() {
  clearTimeout(state.hideTimer);
  $('verdict').hidden = true;
  if (document.body.dataset.screen === 'scan') $('code').focus();
}

function retry() {
  const last = state.last;
  if (!last || !last.verdict || !last.verdict.key || state.pending) return;
  unlockAudio();
  last.seenAt = Date.now();
  send(last.code, last.verdict.key);
}

// ---- sound ----------------------------------------------------------------------------------

/** Browsers let a page make sound only after a tap or key press: open the audio then. */
function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  if (!state.audio) state.audio = new Context();
  if (state.audio.state === 'suspended') state.audio.resume().catch(() => {});
}

/** Two short low tones (and a buzz where phones vibrate) for anything that is not an admit. */
function alarm(box) {
  if (navigator.vibrate) navigator.vibrate([180, 80, 180]);
  const audio = state.audio;
  if (!audio) return;
  const start = audio.currentTime + 0.01;
  for (const [at, hz] of [[0, 440], [0.2, 330]]) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = 'square';
    tone.frequency.value = hz;
    gain.gain.setValueAtTime(0.15, start + at);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.18);
    tone.connect(gain).connect(audio.destination);
    tone.start(start + at);
    tone.stop(start + at + 0.18);
  }
  box.dataset.beeps = String(Number(box.dataset.beeps || '0') + 1);
}

// ---- start ----------------------------------------------------------------------------------

async function boot() {
  $('signin-form').addEventListener('submit', onSignIn);
  $('setup-form').addEventListener('submit', onStart);
  $('gate').addEventListener('change', fillSessions);
  $('signout').addEventListener('click', () => signOut(''));
  $('change').addEventListener('click', async () => {
    try {
      if (!(await loadPlaces())) return;
      openSetup();
    } catch (e) {
      $('last').textContent = `Could not load the gates and sessions: ${e.message}`;
    }
  });
  $('camera-toggle').addEventListener('click', () => { unlockAudio(); toggleCamera(); });
  $('code-form').addEventListener('submit', onCodeSubmit);
  $('verdict-next').addEventListener('click', hideVerdict);
  $('verdict-retry').addEventListener('click', retry);
  document.addEventListener('keydown', unlockAudio, { once: true });

  if (!state.token) {
    show('signin');
    return;
  }
  if (state.place) {
    // Signed in before: go straight back to scanning (works even if the network is down;
    // every scan still needs the server). Refresh the lists quietly for "Change".
    openScan();
    loadPlaces().catch(() => {});
    return;
  }
  try {
    if (await loadPlaces()) openSetup();
  } catch (e) {
    // Keep the token: the network may be back in a moment. Sign in tries again.
    $('token').value = state.token;
    $('signin-error').textContent = `Could not reach the server: ${e.message}. Try again.`;
    show('signin');
  }
}

document.body.dataset.ready = 'false';
boot().finally(() => { document.body.dataset.ready = 'true'; });
