import { ChildProcess, execFileSync, spawn } from 'child_process';
import { freePort } from '../../test/support/processes.js';
import { sleep } from './clock.js';
import { GENERATOR_CPU } from './suite.js';

/**
 * A throwaway redis-server on a free port (never the shared 6379), nothing persisted, pinned with
 * the generator so the servers under test keep their core.
 */
export class RedisServer {
  private process: ChildProcess | null = null;
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
    this.process = spawn('taskset', ['-c', String(GENERATOR_CPU), 'redis-server', ...args], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      try {
        if (this.cli('PING').trim() === 'PONG') return;
      } catch {
        // not up yet
      }
      await sleep(25);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  cli(...args: string[]): string {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' });
  }

  /** Calls of PUBLISH and SPUBLISH so far (INFO commandstats). */
  publishCount(): number {
    const stats = this.cli('INFO', 'commandstats');
    let calls = 0;
    for (const match of stats.matchAll(/^cmdstat_s?publish:calls=(\d+)/gm)) calls += Number(match[1]);
    return calls;
  }

  /** CPU time redis-server has used so far, in ms (INFO cpu: the process's user + system time). */
  cpuMs(): number {
    const info = this.cli('INFO', 'cpu');
    const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000;
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child === null || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
    this.process = null;
  }
}
