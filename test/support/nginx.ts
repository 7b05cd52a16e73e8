import { ChildProcess, spawn } from 'child_process';
import { promises as fs } from 'fs';
import { connect } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { exited, startOnFreePort } from './processes.js';

const NGINX = '/usr/sbin/nginx';
/** The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of /proc CPU times: 100 on Linux everywhere. */
const CLOCK_TICKS = 100;

/** One request nginx passed on, from its access log (written when the request ends: a WebSocket's when it closes). */
export interface ProxiedRequest {
  /** The index in `upstreams` of the instance that answered, or -1 when none did (nginx answered itself). */
  readonly upstream: number;
  readonly method: string;
  /** Path and query as the client sent them. */
  readonly uri: string;
  readonly status: number;
}

/**
 * Debian's nginx on a free port of 127.0.0.1, in front of app instances, the way a deployment without
 * session affinity runs it: round robin per request (each HTTP request and each WebSocket upgrade goes
 * to the next instance, whatever connection it belongs to), no upstream keepalive, WebSocket upgrades
 * proxied, responses unbuffered (Server-Sent Events, long polls) and request bodies streamed (receive
 * backpressure), read and send timeouts far beyond any test so that idle streams stay open.
 */
export interface NginxProxy {
  readonly port: number;
  url(path: string): string;
  /** The requests nginx has finished, in the order it finished them. */
  requests(): Promise<ProxiedRequest[]>;
  /**
   * The requests whose URI has `marker`, once `done` holds for them (a WebSocket is logged when it
   * closes, a request when it ends, so the test waits for the log rather than the client); throws
   * with what was logged when `timeoutMs` passes first.
   */
  logged(marker: string, done: (requests: ProxiedRequest[]) => boolean, timeoutMs?: number): Promise<ProxiedRequest[]>;
  /** CPU time nginx has used so far, in ms (its /proc stat: user + system). */
  cpuMs(): Promise<number>;
  /** Ends nginx (fast shutdown: open connections are closed) and removes its directory. */
  stop(): Promise<void>;
}

/** How nginx is run where the defaults (the tests' no-affinity deployment) are not wanted: the benchmarks. */
export interface NginxOptions {
  /**
   * 'round-robin' (the default): each request to the next instance. 'sticky': by the `id` query
   * parameter (`hash $arg_id consistent`), so every request of one connection reaches one instance
   * (negotiate, which has no id yet, always reaches the same one).
   */
  readonly balance?: 'round-robin' | 'sticky';
  /** Reuse idle connections to the instances (`keepalive`) instead of one per request. */
  readonly upstreamKeepalive?: boolean;
  /** The core to pin nginx to (taskset). */
  readonly cpu?: number;
}

/**
 * nginx's configuration: everything it writes (pid, temp files, the access log) under `dir`, one
 * process (no master; round robin is then exact, and a killed test cannot leave a worker behind).
 */
function configuration(dir: string, port: number, upstreams: readonly number[], options: NginxOptions): string {
  const servers = upstreams.map((upstream) => `    server 127.0.0.1:${upstream};`).join('\n');
  const balance = options.balance === 'sticky' ? '    hash $arg_id consistent;' : '    # Round robin, the default: no ip_hash, no hash, no sticky cookie.';
  const keepalive = options.upstreamKeepalive ? '    keepalive 64;' : '';
  return `daemon off;
master_process off;
error_log stderr warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 4096; }
http {
  log_format proxied '$upstream_addr\\t$request_method\\t$request_uri\\t$status';
  access_log ${join(dir, 'access.log')} proxied;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};

  # A WebSocket upgrade is passed on as one; every other request asks the instance to close the
  # connection after answering (no upstream keepalive: the next request opens a new one elsewhere),
  # or, with upstream keepalive, leaves it open for the next request to that instance.
  map $http_upgrade $upstream_connection {
    default upgrade;
    '' ${options.upstreamKeepalive ? "''" : 'close'};
  }

  upstream instances {
${balance}
${servers}
${keepalive}
  }

  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    client_body_timeout 1h;
    send_timeout 1h;
    location / {
      proxy_pass http://instances;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $upstream_connection;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_connect_timeout 5s;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`;
}

/** Whether something accepts TCP connections on `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts nginx on `port`; resolves once it accepts connections, rejects with its error output if it exits first. */
async function launch(dir: string, port: number, upstreams: readonly number[], options: NginxOptions): Promise<ChildProcess> {
  const config = join(dir, 'nginx.conf');
  await fs.writeFile(config, configuration(dir, port, upstreams, options));
  const argv = [NGINX, '-p', dir, '-c', config, '-e', 'stderr'];
  // taskset execs nginx: the child's pid stays nginx's.
  const [command, ...args] = options.cpu === undefined ? argv : ['taskset', '-c', String(options.cpu), ...argv];
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(`${NGINX} is not installed: apt-get install nginx (.ci/run installs it)`) : error),
    );
    child.once('exit', (code) => reject(new Error(`nginx on port ${port} exited with ${code} before it listened:\n${errors}`)));
  });
  failed.catch(() => undefined);
  // nginx says nothing once it listens (without a master process it logs no worker start): the port tells.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([accepts(port), failed]);
    if (up) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not listen on port ${port} within 10 s:\n${errors}`);
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 10)), failed]);
  }
}

/** Starts nginx on a free port, round robin (unless `options` say otherwise) over the instances listening on `upstreams` (ports of 127.0.0.1). */
export async function startNginx(upstreams: readonly number[], options: NginxOptions = {}): Promise<NginxProxy> {
  if (upstreams.length === 0) throw new Error('startNginx: no upstream instances');
  const dir = await fs.mkdtemp(join(tmpdir(), 'signalr-nginx-'));
  let port: number;
  let running: ChildProcess;
  try {
    ({ port, started: running } = await startOnFreePort(
      (port) => launch(dir, port, upstreams, options),
      (error) => /Address already in use/.test(String(error)),
    ));
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
  const byAddress = new Map(upstreams.map((upstream, index) => [`127.0.0.1:${upstream}`, index]));
  const requests = async (): Promise<ProxiedRequest[]> => {
    const log = await fs.readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
    return log
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [address, method, uri, status] = line.split('\t');
        // After a failed attempt nginx lists every instance it tried ("a, b"): the last one answered.
        const answered = address.split(', ').pop()!;
        return { upstream: byAddress.get(answered) ?? -1, method, uri, status: Number(status) };
      });
  };

  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    async logged(marker, done, timeoutMs = 10_000) {
      let marked: ProxiedRequest[] = [];
      const deadline = Date.now() + timeoutMs;
      while (!done((marked = (await requests()).filter((request) => request.uri.includes(marker))))) {
        if (Date.now() > deadline) throw new Error(`nginx logged only ${JSON.stringify(marked)} for ${marker}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return marked;
    },
    async cpuMs() {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks.
      const stat = await fs.readFile(`/proc/${running.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    },
    async stop() {
      running.kill('SIGTERM');
      await exited(running);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
