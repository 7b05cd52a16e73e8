// The sample's browser side: plain JavaScript with the official client (window.signalR),
// served by the app at /lib/signalr.min.js.
'use strict';

const $ = (id) => document.getElementById(id);
let chat = null;
let notifications = null;
// The access token from POST /api/auth/login, in memory only: a reload signs out. Null: anonymous.
let accessToken = null;
let userName = null;
const shipped = new Set(); // an owner who also subscribed gets orderShipped twice

function show(listId, text, className) {
  const item = document.createElement('li');
  item.textContent = text; // never innerHTML: messages come from other users
  if (className) item.className = className;
  $(listId).prepend(item);
}

/** Errors of the chat and notification forms; a HubException's message arrives here as is. */
function failed(error) {
  show('chat', error.message, 'error');
}

/** Exchanges a user name and password for an access token (a JWT valid for an hour). */
async function login(username, password) {
  const response = await fetch('/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error([].concat(body.message).join(', '));
  return body.accessToken;
}

function build(path) {
  // The client calls accessTokenFactory for every request: negotiate gets an Authorization header,
  // and WebSockets and event streams, where browsers cannot set headers, `access_token` in the URL.
  const options = accessToken ? { accessTokenFactory: () => accessToken } : {};
  return new signalR.HubConnectionBuilder()
    .withUrl(path, options)
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

async function connect(name) {
  chat = build('/hubs/chat');
  chat.on('message', (user, text) => show('chat', `${user}: ${text}`));
  chat.on('roomMessage', (room, user, text) => show('chat', `[${room}] ${user}: ${text}`));
  chat.on('privateMessage', (user, text) => show('chat', `(private) ${user}: ${text}`, 'private'));
  chat.on('userJoined', (room, user) => show('chat', `${user} joined ${room}`, 'notice'));
  chat.on('userLeft', (room, user) => show('chat', `${user} left ${room}`, 'notice'));
  chat.on('userConnected', (user) => show('chat', `${user} connected`, 'notice'));
  chat.on('userDisconnected', (user) => show('chat', `${user} disconnected`, 'notice'));
  chat.on('announcement', (text, level, from) => show('announcements', `[${level}] ${from}: ${text}`, level));
  chat.onreconnecting(() => ($('status').textContent = 'reconnecting…'));
  chat.onreconnected(() => ($('status').textContent = `connected as ${name}`));
  chat.onclose(() => ($('status').textContent = 'disconnected'));
  const started = [chat.start()];

  // The notification hub refuses anonymous users (401): only signed-in users connect to it.
  if (accessToken) {
    notifications = build('/hubs/notifications');
    notifications.on('orderShipped', (order) => {
      if (shipped.has(order.id)) return;
      shipped.add(order.id);
      show('notifications', `Order #${order.id} (${order.item}) for ${order.customer} has shipped`);
      refreshOrders().catch(failed);
    });
    started.push(notifications.start());
  }

  await Promise.all(started);
  $('status').textContent = `connected as ${name}`;
  $('logout').disabled = false;
  await refreshOrders();
}

async function disconnect() {
  await Promise.all([chat?.stop(), notifications?.stop()]);
  chat = notifications = null;
  accessToken = userName = null;
  $('logout').disabled = true;
}

async function refreshOrders() {
  const orders = await (await fetch('/orders')).json();
  $('order-list').replaceChildren();
  for (const order of orders) {
    const item = document.createElement('li');
    item.textContent = `#${order.id} ${order.item} for ${order.customer}: ${order.status} `;
    if (order.status === 'pending') {
      const ship = document.createElement('button');
      ship.textContent = 'Ship';
      ship.onclick = () => fetch(`/orders/${order.id}/ship`, { method: 'POST' }).then(refreshOrders).catch(failed);
      item.append(ship);
    }
    $('order-list').append(item);
  }
}

function connected(connection, hint = 'Connect first.') {
  if (!connection) throw new Error(hint);
  return connection;
}

/** Runs `action` on submit; its errors go to the list `errorList`. */
function onSubmit(formId, action, errorList = 'chat') {
  $(formId).addEventListener('submit', (event) => {
    event.preventDefault();
    Promise.resolve()
      .then(action)
      .catch((error) => show(errorList, error.message, 'error'));
  });
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  const password = $('password').value;
  $('login-error').textContent = '';
  (async () => {
    await disconnect();
    if (name) {
      accessToken = await login(name, password);
      userName = name;
    }
    $('password').value = '';
    await connect(name || 'anonymous');
  })().catch((error) => {
    $('login-error').textContent = error.message; // e.g. "Invalid username or password."
    disconnect().catch(failed);
  });
});
$('logout').onclick = () => disconnect().catch(failed);

onSubmit('send-all', async () => {
  await connected(chat).invoke('SendMessage', $('message').value);
  $('message').value = '';
});

onSubmit('join', async () => {
  const room = $('room').value.trim();
  await connected(chat).invoke('JoinRoom', room);
  show('chat', `you joined ${room}`, 'notice');
});

$('leave').onclick = () => {
  const room = $('room').value.trim();
  Promise.resolve()
    .then(() => connected(chat).invoke('LeaveRoom', room))
    .then(() => show('chat', `you left ${room}`, 'notice'))
    .catch(failed);
};

onSubmit('send-room', async () => {
  await connected(chat).invoke('SendToRoom', $('room').value.trim(), $('room-message').value);
  $('room-message').value = '';
});

onSubmit('send-private', async () => {
  await connected(chat).invoke('SendPrivate', $('to').value.trim(), $('private-message').value);
  show('chat', `(private to ${$('to').value.trim()}) ${$('private-message').value}`, 'private');
  $('private-message').value = '';
});

// Admins only: anyone else gets "Failed to invoke 'AdminBroadcast' because user is unauthorized",
// and a bad announcement the ValidationPipe's messages, shown in the announcements list.
onSubmit(
  'announce',
  async () => {
    await connected(chat).invoke('AdminBroadcast', { text: $('announcement').value, level: $('level').value });
    $('announcement').value = '';
  },
  'announcements',
);

onSubmit(
  'orders',
  async () => {
    connected(notifications, 'Log in first: orders belong to a user.');
    const response = await fetch('/orders', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customer: userName, item: $('item').value }),
    });
    if (!response.ok) throw new Error((await response.json()).message);
    $('item').value = '';
    await refreshOrders();
  },
  'notifications',
);

$('subscribe').onclick = () => {
  Promise.resolve()
    .then(() => connected(notifications, 'Log in to get notifications.').invoke('Subscribe', 'orders'))
    .then(() => show('notifications', 'subscribed to every order', 'notice'))
    .catch((error) => show('notifications', error.message, 'error'));
};

refreshOrders().catch(failed);
