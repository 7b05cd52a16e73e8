// The sample's browser side: plain JavaScript with the official client (window.signalR),
// served by the app at /lib/signalr.min.js.
'use strict';

const $ = (id) => document.getElementById(id);
let chat = null;
let notifications = null;
const shipped = new Set(); // an owner who also subscribed gets orderShipped twice

function show(listId, text, className) {
  const item = document.createElement('li');
  item.textContent = text; // never innerHTML: messages come from other users
  if (className) item.className = className;
  $(listId).prepend(item);
}

function failed(error) {
  show('chat', error.message, 'error'); // a HubException's message arrives here as is
}

function build(path, name) {
  const query = name ? `?user=${encodeURIComponent(name)}` : '';
  return new signalR.HubConnectionBuilder()
    .withUrl(path + query)
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

async function connect(name) {
  await disconnect();
  chat = build('/hubs/chat', name);
  chat.on('message', (user, text) => show('chat', `${user}: ${text}`));
  chat.on('roomMessage', (room, user, text) => show('chat', `[${room}] ${user}: ${text}`));
  chat.on('privateMessage', (user, text) => show('chat', `(private) ${user}: ${text}`, 'private'));
  chat.on('userJoined', (room, user) => show('chat', `${user} joined ${room}`, 'notice'));
  chat.on('userLeft', (room, user) => show('chat', `${user} left ${room}`, 'notice'));
  chat.on('userConnected', (user) => show('chat', `${user} connected`, 'notice'));
  chat.on('userDisconnected', (user) => show('chat', `${user} disconnected`, 'notice'));
  chat.onreconnecting(() => ($('status').textContent = 'reconnecting…'));
  chat.onreconnected(() => ($('status').textContent = `connected as ${name || 'anonymous'}`));
  chat.onclose(() => ($('status').textContent = 'disconnected'));

  notifications = build('/hubs/notifications', name);
  notifications.on('orderShipped', (order) => {
    if (shipped.has(order.id)) return;
    shipped.add(order.id);
    show('notifications', `Order #${order.id} (${order.item}) for ${order.customer} has shipped`);
    refreshOrders().catch(failed);
  });

  await Promise.all([chat.start(), notifications.start()]);
  $('status').textContent = `connected as ${name || 'anonymous'}`;
  $('logout').disabled = false;
  await refreshOrders();
}

async function disconnect() {
  await Promise.all([chat?.stop(), notifications?.stop()]);
  chat = notifications = null;
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
      ship.onclick = () => fetch(`/orders/${order.id}/ship`, { method: 'POST' }).then(refreshOrders);
      item.append(ship);
    }
    $('order-list').append(item);
  }
}

function connected(connection) {
  if (!connection) throw new Error('Connect first.');
  return connection;
}

function onSubmit(formId, action) {
  $(formId).addEventListener('submit', (event) => {
    event.preventDefault();
    Promise.resolve().then(action).catch(failed);
  });
}

onSubmit('login', () => connect($('name').value.trim()));
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

onSubmit('orders', async () => {
  const customer = $('name').value.trim();
  if (!customer) throw new Error('Pick a name first: orders belong to a user.');
  const response = await fetch('/orders', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ customer, item: $('item').value }),
  });
  if (!response.ok) throw new Error((await response.json()).message);
  $('item').value = '';
  await refreshOrders();
});

$('subscribe').onclick = () => {
  Promise.resolve()
    .then(() => connected(notifications).invoke('Subscribe', 'orders'))
    .then(() => show('notifications', 'subscribed to every order', 'notice'))
    .catch(failed);
};

refreshOrders().catch(failed);
