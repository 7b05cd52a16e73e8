import { AppModule } from '../../sample/app.module.js';
import type { Order } from '../../sample/orders/orders.store.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { startApp, TestApp } from './app.js';
import { stopAll } from './client.js';
import { waitUntil } from './wait.js';

/** The sample's demo users and their passwords (sample/auth/users.service.ts, listed in the README). */
export const SAMPLE_PASSWORDS = { ada: 'lovelace', bob: 'builder', grace: 'hopper' } as const;
export type SampleUser = keyof typeof SAMPLE_PASSWORDS;

/** POSTs `/api/auth/login` with a JSON body and returns the raw response. */
export function postLogin(app: Pick<TestApp, 'url'>, body: unknown): Promise<Response> {
  return fetch(app.url('/api/auth/login'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Logs a demo user in through the sample's login endpoint and returns the access token. */
export async function sampleLogin(app: Pick<TestApp, 'url'>, user: SampleUser): Promise<string> {
  const response = await postLogin(app, { username: user, password: SAMPLE_PASSWORDS[user] });
  if (response.status !== 200) throw new Error(`login of ${user} answered ${response.status}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** The decoded header and payload of a JWT (not verified: for assertions only). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
  return { header, payload };
}

/**
 * Waits until the server has no connection left: earlier tests' clients may still be saying goodbye
 * (their `userDisconnected` would reach the next test's connections).
 */
export function quiet(app: TestApp): Promise<void> {
  const server = app.app.get(SignalRServer);
  return waitUntil(() => server.stats().running === 0 && server.stats().registered === 0);
}

/**
 * Runs the sample app for a describe block: started once with its demo users signed in, every
 * client stopped and the server quiet between tests, closed at the end.
 */
export function useSampleApp(): { app: TestApp; tokens: Record<SampleUser, string> } {
  const sample = { app: undefined as unknown as TestApp, tokens: {} as Record<SampleUser, string> };
  beforeAll(async () => {
    sample.app = await startApp({ imports: [AppModule] });
    for (const user of ['ada', 'bob', 'grace'] as const) sample.tokens[user] = await sampleLogin(sample.app, user);
  });
  afterEach(async () => {
    await stopAll();
    await quiet(sample.app);
  });
  afterAll(async () => {
    await stopAll();
    await sample.app.close();
  });
  return sample;
}

/** POSTs to the sample app, with a JSON body when one is given, as the user whose access token is given. */
export function samplePost(app: Pick<TestApp, 'url'>, path: string, body?: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return fetch(app.url(path), { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** GETs from the sample app as the user whose access token is given. */
export function sampleGet(app: Pick<TestApp, 'url'>, path: string, token?: string): Promise<Response> {
  return fetch(app.url(path), { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
}

/** Creates an order through the sample's REST API, as `token`'s user (an admin's token orders for anyone). */
export async function createOrder(app: TestApp, customer: string, item: string, token: string): Promise<Order> {
  const response = await samplePost(app, '/orders', { customer, item }, token);
  if (response.status !== 201) throw new Error(`creating an order answered ${response.status}`);
  return response.json() as Promise<Order>;
}
