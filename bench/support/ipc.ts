import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as path from 'path';

/** A request from the orchestrator to a child process; the child answers with the same id. */
interface Request {
  id: number;
  cmd: string;
  args: Record<string, unknown>;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export type Handlers = Record<string, (args: any) => unknown>;

/** Child side: answers the orchestrator's commands over the IPC channel. */
export function serveCommands(handlers: Handlers): void {
  process.on('message', (message: Request) => {
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.args ?? {});
      })
      .then(
        (result) => process.send!({ id: message.id, ok: true, result } satisfies Reply),
        (error: unknown) => process.send!({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) } satisfies Reply),
      );
  });
  // The orchestrator going away ends the child too, so no server outlives a run.
  process.on('disconnect', () => process.exit(0));
}

/** Tells the orchestrator the child is ready (a server's port, say). */
export function announceReady(info: Record<string, unknown>): void {
  process.send!({ ready: true, ...info });
}

const REGISTER = path.join(__dirname, '..', '..', 'test', 'support', 'ts-register.js');
const TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

export interface ChildOptions {
  /** CPU to pin the process to with taskset, where the machine has taskset and that CPU. */
  cpu?: number;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** Orchestrator side: a benchmark child process (server or load generator) driven over IPC. */
export class Child {
  private readonly process: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: any): void; reject(error: Error): void }>();
  readonly ready: Promise<Record<string, any>>;
  private exited = false;

  constructor(script: string, args: string[], options: ChildOptions = {}) {
    const node = [...(options.nodeArgs ?? []), '-r', REGISTER, script, ...args];
    const pin = options.cpu !== undefined && TASKSET && options.cpu < cpuCount();
    const [command, argv] = pin ? ['taskset', ['-c', String(options.cpu), process.execPath, ...node]] : [process.execPath, node];
    this.process = spawn(command, argv, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    this.ready = new Promise((resolve, reject) => {
      this.process.on('message', (message: any) => {
        if (message?.ready) return resolve(message);
        const waiter = this.pending.get(message.id);
        if (waiter === undefined) return;
        this.pending.delete(message.id);
        if (message.ok) waiter.resolve(message.result);
        else waiter.reject(new Error(`${path.basename(script)} ${message.error}`));
      });
      this.process.on('exit', (code, signal) => {
        this.exited = true;
        const error = new Error(`${path.basename(script)} exited (${code ?? signal})`);
        reject(error);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.process.pid!;
  }

  call<T = any>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`child ${this.pid} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.process.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Ends the child (SIGTERM, then SIGKILL after a grace period) and waits for it to go. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

export function cpuCount(): number {
  return require('os').availableParallelism?.() ?? require('os').cpus().length;
}
