/*
 * What carrying costs (issue 18): a long-polling echo (a POST with one invocation, then the poll that
 * takes its completion) sent straight to the instance that holds the connection (as with sticky
 * sessions), against the same sent to the other instance, which carries both requests over Redis.
 * Two instances of test/fixtures/redis-cluster.app.js on one private redis-server; the figures are
 * wall-clock ms per round (both requests) and the CPU both instances spent per carried request,
 * above what the same request costs where the connection is.
 *
 *   node -r ./test/support/ts-register.js bench/tools/carried-requests.ts [rounds]
 */
import { Agent, request } from 'http';
import { randomBytes } from 'crypto';
import { killInstances, startInstance, startRedis, type ClusterInstance } from '../../test/support/redis.js';

const RS = '\u001e';
const ROUNDS = Number(process.argv[2] ?? 2000);
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function send(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject).end(body);
  });
}

async function cpu(instance: ClusterInstance): Promise<number> {
  return (JSON.parse((await send(instance.url('/cluster/cpu'), 'GET')).body) as { micros: number }).micros;
}

/** A long-polling connection held by `owner`, handshaken; its token. */
async function connection(owner: ClusterInstance): Promise<string> {
  const negotiated = JSON.parse((await send(owner.url('/hubs/cluster/negotiate?negotiateVersion=1&user=bench'), 'POST')).body) as { connectionToken: string };
  const id = encodeURIComponent(negotiated.connectionToken);
  const url = owner.url(`/hubs/cluster?user=bench&id=${id}`);
  await send(url, 'GET');
  await send(url, 'POST', `{"protocol":"json","version":1}${RS}`);
  await send(url, 'GET');
  return id;
}

/**
 * `rounds` echoes through `via` on a new connection held by the first instance: ms per round, and
 * both instances' CPU µs per request.
 */
async function echo(instances: ClusterInstance[], via: ClusterInstance, rounds: number): Promise<{ ms: number; cpu: number }> {
  const id = await connection(instances[0]);
  const url = via.url(`/hubs/cluster?user=bench&id=${id}`);
  const before = await Promise.all(instances.map(cpu));
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const post = await send(url, 'POST', `{"type":1,"invocationId":"${i}","target":"WhoAmI","arguments":[]}${RS}`);
    const poll = await send(url, 'GET');
    if (post.status !== 200 || !poll.body.includes(`"invocationId":"${i}"`))
      throw new Error(`round ${i} via ${via.port}: ${post.status} ${poll.status} ${poll.body}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
  const after = await Promise.all(instances.map(cpu));
  const spent = after.reduce((sum, value, index) => sum + value - before[index], 0);
  return { ms, cpu: spent / (rounds * 2) };
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const env = { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64') };
  const instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env)]);
  try {
    const [owner, other] = instances;
    // Warm both paths up (JIT, Redis connections) before measuring.
    await echo(instances, owner, Math.min(500, ROUNDS));
    await echo(instances, other, Math.min(500, ROUNDS));
    const results: Record<string, { ms: number; cpu: number }[]> = { sticky: [], carried: [] };
    for (let rep = 0; rep < 3; rep++) {
      results.sticky.push(await echo(instances, owner, ROUNDS));
      results.carried.push(await echo(instances, other, ROUNDS));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const sticky = { ms: median(results.sticky.map((r) => r.ms)), cpu: median(results.sticky.map((r) => r.cpu)) };
    const carried = { ms: median(results.carried.map((r) => r.ms)), cpu: median(results.carried.map((r) => r.cpu)) };
    console.log(`rounds ${ROUNDS} × 3, medians (a round: one POST with an invocation, one poll that takes its completion)`);
    console.log(`sticky  ${sticky.ms.toFixed(3)} ms per round, ${sticky.cpu.toFixed(0)} µs CPU per request (both instances)`);
    console.log(`carried ${carried.ms.toFixed(3)} ms per round, ${carried.cpu.toFixed(0)} µs CPU per request (both instances)`);
    console.log(`per carried request: +${((carried.ms - sticky.ms) / 2).toFixed(3)} ms, +${(carried.cpu - sticky.cpu).toFixed(0)} µs CPU`);
  } finally {
    await killInstances();
    await redis.close();
  }
}

void main();
