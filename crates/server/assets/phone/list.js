// The ticket list: every ticket of every order opened in this browser, loaded live (and kept
// for offline use).

import { fetchJSON, loadList, registerServiceWorker, saveList, statusText, watchNetwork, when } from './offline.js';

const status = document.getElementById('status');
const list = document.getElementById('tickets');
const setOffline = watchNetwork();
registerServiceWorker();

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle('error', error);
  status.hidden = !text;
}

function render(tickets) {
  list.replaceChildren(...tickets.map((t) => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `/my/tickets/${encodeURIComponent(t.id)}`;
    link.className = 'card';
    link.dataset.ticketId = t.id;
    const title = document.createElement('h2');
    title.textContent = t.event.name;
    const place = document.createElement('p');
    place.textContent = `${when(t.session.starts_at)} · ${t.event.venue}`;
    const seat = document.createElement('p');
    seat.textContent = `${t.session.label} · ${t.grade.name} · ${t.seat ?? 'General admission'}`;
    const badge = document.createElement('span');
    badge.className = `badge ${t.status}`;
    badge.textContent = statusText(t);
    link.append(title, place, seat, badge);
    item.append(link);
    return item;
  }));
}

async function load() {
  const answer = await fetchJSON('/my/api/tickets');
  if (answer.offline || answer.status >= 500) {
    setOffline(!!answer.offline);
    const saved = loadList();
    if (saved) {
      render(saved.tickets);
      say(`Offline: showing your tickets as of ${new Date(saved.savedAt).toLocaleString()}.`);
    } else {
      say('No network, and no tickets saved on this phone yet.', true);
    }
    return;
  }
  if (answer.status === 401) {
    say('Open the login link from your order confirmation on this phone to see your tickets here.', true);
    return;
  }
  if (answer.status !== 200) {
    say(answer.body?.detail ?? 'Your tickets could not be loaded.', true);
    return;
  }
  saveList(answer.body);
  render(answer.body);
  say(answer.body.length ? '' : 'No tickets yet.');
}

load();
