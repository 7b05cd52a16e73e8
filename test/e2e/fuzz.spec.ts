import { runFuzz } from '../../bench/fuzz/fuzzer.js';
import { PLATFORM } from '../support/app.js';

/**
 * A small pass of the fuzzer (bench/fuzz/) on this run's platform: its own server in a child
 * process, every category of hostile input, an official client calling Echo throughout. A fixed
 * seed, so a failure is reproduced with `npm run fuzz -- --cases 2000 --seed 13 --platform <platform>`.
 */
describe('fuzzing (small pass)', () => {
  it('survives 2,000 hostile inputs: no crash, every valid invocation answered, no healthy call lost, memory bounded', async () => {
    const report = await runFuzz({ cases: 2000, seed: 13, platform: PLATFORM });
    expect(report.cases).toBe(2000);
    expect([...report.tally.cases.keys()].sort()).toEqual(['frames', 'handshake', 'http', 'json', 'messagepack']);
    expect(report.crash).toBeUndefined();
    expect(report.tally.unanswered).toEqual([]);
    expect(report.tally.unreadable).toEqual([]);
    expect(report.healthy).toMatchObject({ lost: 0, closed: undefined });
    expect(report.healthy!.answered).toBeGreaterThan(0);
    expect(report.connectionsLeft).toBe(0);
    expect(report.failures).toEqual([]);
  }, 120_000);
});
