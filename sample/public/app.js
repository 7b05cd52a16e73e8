// The sample's browser side: plain JavaScript with the official client (window.signalR),
// served by the app at /lib/signalr.min.js.
'use strict';

// `npm run start:cluster` runs the app in several worker processes on one port, and each new TCP
// connection goes to the next worker: the server names the worker that served this page here.
const clusterWorker = document.documentElement.dataset.clusterWorker;
document.getElementById('instance').textContent = clusterWorker ? `instance ${location.host}, page from worker ${clusterWorker}` : `instance ${location.host}`;

const $ = (id) => document.getElementById(id);
let chat = null;
let notifications = null;
let dashboard = null;
let metrics = null; // the subscription to the dashboard's stream
let feed = null; // the Subject of the live feed while sharing
// The access token from POST /api/auth/login, in memory only: a reload signs out. Null: anonymous.
let accessToken = null;
const told = new Set(); // an owner who also subscribed gets orderShipped (or orderCancelled) twice

function show(listId, text, className) {
  const item = document.createElement('li');
  item.textContent = text; // never innerHTML: messages come from other users
  if (className) item.className = className;
  $(listId).prepend(item);
}

// What the client puts before the message of a HubException the server threw (detailed errors or not).
const SERVER_ERROR_PREFIX = /^An unexpected error occurred invoking '[^']*' on the server\. HubException: /;

/** An error as the user should read it: a HubException's own message, without the client's preamble. */
function messageOf(error) {
  return String(error?.message ?? error).replace(SERVER_ERROR_PREFIX, '');
}

/** Errors of the chat forms, in the chat. */
function failed(error) {
  show('chat', messageOf(error), 'error');
}

/** The orders' own error line (the latest error of ordering, shipping, cancelling, subscribing); null clears it. */
function orderError(error) {
  $('order-error').textContent = error === null ? '' : messageOf(error);
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
  const builder = new signalR.HubConnectionBuilder().withUrl(path, options).withAutomaticReconnect();
  // A dropped WebSocket re-attaches to the same connection and replays what was lost, so streams,
  // uploads and groups survive it; the other reconnects (a new connection) remain the fallback. Under
  // `npm run start:cluster` every request may reach any worker (they share connectionTokenSecret): a
  // re-attach that reaches another worker is bridged over Redis to the one holding the connection.
  builder.withStatefulReconnect();
  return builder.configureLogging(signalR.LogLevel.Warning).build();
}

async function connect(name) {
  const chatConnection = (chat = build('/hubs/chat'));
  chat.on('message', (user, text) => show('chat', `${user}: ${text}`));
  chat.on('roomMessage', (room, user, text) => show('chat', `[${room}] ${user}: ${text}`));
  chat.on('privateMessage', (user, text) => show('chat', `(private) ${user}: ${text}`, 'private'));
  chat.on('userJoined', (room, user) => show('chat', `${user} joined ${room}`, 'notice'));
  chat.on('userLeft', (room, user) => show('chat', `${user} left ${room}`, 'notice'));
  chat.on('userConnected', (user) => show('chat', `${user} connected`, 'notice'));
  chat.on('userDisconnected', (user) => show('chat', `${user} disconnected`, 'notice'));
  chat.on('announcement', (text, level, from) => show('announcements', `[${level}] ${from}: ${text}`, level));
  chat.on('feedStarted', (user) => show('feed-list', `${user} started sharing`, 'notice'));
  chat.on('feedLine', (user, line) => show('feed-list', `${user}: ${line}`));
  chat.on('feedEnded', (user, lines) => show('feed-list', `${user} stopped sharing (${lines} ${lines === 1 ? 'line' : 'lines'})`, 'notice'));
  // Only while it is the page's chat: a connection being replaced (logging in or out) says nothing.
  const status = (text) => chatConnection === chat && ($('status').textContent = text);
  chat.onreconnecting(() => status('reconnecting…'));
  chat.onreconnected(() => status(`connected as ${name}`));
  chat.onclose(() => status('disconnected'));
  const started = [chat.start()];

  const dashboardConnection = (dashboard = build('/hubs/dashboard'));
  // An ordinary reconnect is a new connection, where the old stream is gone: subscribe again. A
  // stateful reconnect keeps the connection, and the stream, without any of these events.
  dashboard.onreconnecting(() => dashboardConnection === dashboard && dashboardStatus('reconnecting…'));
  dashboard.onreconnected(() => dashboardConnection === dashboard && watchMetrics());
  dashboard.onclose(() => dashboardConnection === dashboard && dashboardStatus('off'));
  started.push(dashboard.start().then(watchMetrics));

  // The notification hub refuses anonymous users (401): only signed-in users connect to it.
  if (accessToken) {
    notifications = build('/hubs/notifications');
    notifications.on('orderShipped', (order) => tell(order, 'has shipped'));
    notifications.on('orderCancelled', (order) => tell(order, 'was cancelled'));
    // A client result: the server waits for what this handler returns.
    notifications.on('Confirm', (question) => ask(question));
    started.push(notifications.start());
  }

  await Promise.all(started);
  $('status').textContent = `connected as ${name}`;
  $('logout').disabled = accessToken === null;
  await refreshOrders();
}

// Connecting and disconnecting, one after the other: a login while the page is still connecting
// anonymously waits for that to finish instead of stopping it halfway.
let session = Promise.resolve();

/** Replaces the page's connections with ones for `token` (null: anonymous) under `name`. */
function connectAs(token, name) {
  const next = session.then(async () => {
    await disconnect();
    accessToken = token;
    try {
      await connect(name ?? 'anonymous');
    } catch (error) {
      await disconnect();
      throw error;
    }
  });
  session = next.catch(() => undefined);
  return next;
}

function tell(order, what) {
  const key = `${order.id} ${what}`;
  if (told.has(key)) return;
  told.add(key);
  show('notifications', `Order #${order.id} (${order.item}) for ${order.customer} ${what}`);
  refreshOrders().catch(orderError);
}

async function disconnect() {
  const connections = [chat, notifications, dashboard];
  // Forgotten before they stop, so that what they cancel (an open feed) is not reported as an error.
  chat = notifications = dashboard = metrics = null;
  feed?.complete();
  feed = null;
  answerPending?.(false); // a question left open: nobody is there to answer it
  await Promise.all(connections.map((connection) => connection?.stop()));
  accessToken = null;
  $('status').textContent = 'disconnected';
  dashboardStatus('off');
  $('logout').disabled = true;
  $('order-list').replaceChildren();
  orderError(null);
}

/** A request to the orders API, which needs the signed-in user's token (admins see and act on every order). */
function ordersApi(path, init = {}) {
  return fetch(path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${accessToken}` } });
}

async function refreshOrders() {
  // Orders belong to signed-in users: nothing to list without a token.
  const orders = accessToken ? await (await ordersApi('/orders')).json() : [];
  $('order-list').replaceChildren();
  for (const order of orders) {
    const item = document.createElement('li');
    item.textContent = `#${order.id} ${order.item} for ${order.customer}: ${order.status} `;
    if (order.status === 'pending') {
      const ship = document.createElement('button');
      ship.textContent = 'Ship';
      ship.onclick = () =>
        ordersApi(`/orders/${order.id}/ship`, { method: 'POST' })
          .then(async (response) => {
            if (!response.ok) throw new Error((await response.json()).message);
            orderError(null);
          })
          .catch(orderError)
          .finally(() => refreshOrders().catch(orderError));
      const cancel = document.createElement('button');
      cancel.textContent = 'Cancel';
      cancel.onclick = () => cancelOrder(order, cancel);
      item.append(ship, ' ', cancel);
    }
    $('order-list').append(item);
  }
}

/** Asks the server to cancel; it answers once the owner's page has confirmed or declined. */
function cancelOrder(order, button) {
  button.disabled = true;
  button.textContent = `asking ${order.customer}…`;
  ordersApi(`/orders/${order.id}/cancel`, { method: 'POST' })
    .then(async (response) => {
      if (!response.ok) throw new Error((await response.json()).message);
      orderError(null);
    })
    .catch(orderError)
    .finally(() => refreshOrders().catch(orderError));
}

// Questions from the server, one at a time: a later one waits until the earlier is answered.
let questions = Promise.resolve();
let answerPending = null; // answers the question on screen

/** Shows `question` in the page's dialog and resolves with the answer: true for Yes, false for No. */
function ask(question) {
  const answer = questions.then(
    () =>
      new Promise((resolve) => {
        $('confirm-question').textContent = question;
        $('confirm').hidden = false;
        const reply = (value) => {
          $('confirm').hidden = true;
          $('confirm-yes').onclick = $('confirm-no').onclick = answerPending = null;
          resolve(value);
        };
        answerPending = reply;
        $('confirm-yes').onclick = () => reply(true);
        $('confirm-no').onclick = () => reply(false);
        $('confirm-yes').focus();
      }),
  );
  questions = answer;
  return answer;
}

function dashboardStatus(text) {
  $('dashboard-status').textContent = text;
}

/** (Re)subscribes to the metrics stream at the chosen interval; disposing the old one cancels it on the server. */
function watchMetrics() {
  metrics?.dispose();
  let lastTick = 0;
  let missed = 0;
  const rates = [];
  metrics = dashboard.stream('Metrics', Number($('interval').value)).subscribe({
    next: (snapshot) => {
      missed += snapshot.tick - lastTick - 1; // the ticks have no gaps unless updates were lost
      lastTick = snapshot.tick;
      rates.push(snapshot.invocations.perSecond);
      if (rates.length > 30) rates.shift();
      render(snapshot, rates, missed);
    },
    complete: () => dashboardStatus('ended'),
    error: (error) => dashboardStatus(`stopped: ${messageOf(error)}`),
  });
  dashboardStatus('live');
}

function render(snapshot, rates, missed) {
  const { chat: inChat, notifications: inNotifications, dashboard: onDashboard } = snapshot.connections;
  $('m-connections').textContent = String(snapshot.activeConnections);
  $('m-connections-detail').textContent = `chat ${inChat} · notifications ${inNotifications} · dashboard ${onDashboard}`;
  $('m-rate').textContent = String(snapshot.invocations.perSecond);
  const top = Math.max(1, ...rates);
  const points = rates.map((rate, i) => `${i * 2},${(20 - (rate / top) * 18).toFixed(1)}`);
  $('m-spark').setAttribute('points', points.join(' '));
  $('m-heap').textContent = `${snapshot.memoryMb.heapUsed} MB`;
  $('m-rss').textContent = `RSS ${snapshot.memoryMb.rss} MB`;
  $('m-lag').textContent = `${snapshot.eventLoopLagMs} ms`;
  $('m-tick').textContent = `#${snapshot.tick}`;
  $('m-uptime').textContent = `up ${snapshot.uptimeSeconds} s${missed > 0 ? `, ${missed} missed` : ''}`;
}

function connected(connection, hint = 'Connect first.') {
  if (!connection) throw new Error(hint);
  return connection;
}

/** Runs `action` on submit; its errors go to `onError` (by default, the chat). */
function onSubmit(formId, action, onError = failed) {
  $(formId).addEventListener('submit', (event) => {
    event.preventDefault();
    Promise.resolve().then(action).catch(onError);
  });
}

/** `onError` for a form whose errors go to the list `listId`. */
const showIn = (listId) => (error) => show(listId, messageOf(error), 'error');

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  const password = $('password').value;
  $('login-error').textContent = '';
  (async () => {
    // Anonymous already, and connected: nothing to change.
    if (!name && accessToken === null && chat !== null) return;
    // A refused login (e.g. "Invalid username or password.") leaves the page as it was.
    const token = name ? await login(name, password) : null;
    $('password').value = '';
    await connectAs(token, name || null);
  })().catch((error) => ($('login-error').textContent = messageOf(error)));
});
// Logging out leaves the page chatting anonymously, as it started.
$('logout').onclick = () => connectAs(null, null).catch((error) => ($('login-error').textContent = messageOf(error)));

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
  showIn('announcements'),
);

onSubmit(
  'orders',
  async () => {
    connected(notifications, 'Log in first: orders belong to a user.');
    const response = await ordersApi('/orders', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ item: $('item').value }),
    });
    if (!response.ok) throw new Error((await response.json()).message);
    $('item').value = '';
    orderError(null);
    await refreshOrders();
  },
  orderError,
);

$('interval').onchange = () => dashboard && watchMetrics();

// The live feed: the first line opens an upload (invoke with a Subject), later lines go up the same
// stream, and Stop completes it; the invocation then returns how many lines were shared.
onSubmit(
  'feed',
  () => {
    const line = $('feed-line').value.trim();
    // The server would end the whole feed on an empty line: refused here, the feed goes on.
    if (!line) throw new Error('Feed line must not be empty.');
    if (feed === null) startFeed(connected(chat));
    feed.next(line);
    show('feed-list', `you: ${line}`, 'mine');
    $('feed-line').value = '';
  },
  showIn('feed-list'),
);

function startFeed(connection) {
  const subject = new signalR.Subject();
  feed = subject;
  $('feed-stop').disabled = false;
  show('feed-list', 'you started sharing', 'notice');
  connection
    .invoke('ShareFeed', subject)
    // Only while still connected: a logout ends the feed too, and cancels this invocation.
    .then((lines) => connection === chat && show('feed-list', `you stopped sharing (${lines} ${lines === 1 ? 'line' : 'lines'})`, 'notice'))
    .catch((error) => connection === chat && show('feed-list', messageOf(error), 'error'))
    .finally(() => {
      if (feed === subject) feed = null;
      $('feed-stop').disabled = feed === null;
    });
}

$('feed-stop').onclick = () => feed?.complete();

$('subscribe').onclick = () => {
  Promise.resolve()
    .then(() => connected(notifications, 'Log in to get notifications.').invoke('Subscribe', 'orders'))
    .then(() => {
      orderError(null);
      show('notifications', 'subscribed to every order', 'notice');
    })
    .catch(orderError);
};

// Chat and dashboard need no account: the page connects anonymously at once, and again as the user
// who logs in.
connectAs(null, null).catch((error) => ($('login-error').textContent = messageOf(error)));
