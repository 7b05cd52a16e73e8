import { AVOIDABLE, type Avoidable } from '../../bench/fuzz/cases/hub-messages.js';
import { runFuzz } from '../../bench/fuzz/fuzzer.js';
import { PLATFORM } from '../support/app.js';

/**
 * Case families whose bugs this tree still has (issue 13): results the protocol cannot write get no
 * Completion, and a MessagePack array32 header claiming 33M items makes the decoder allocate
 * ~250 MB. Empty this list once their fixes are in; the full run is `npm run fuzz`.
 */
const KNOWN_BUGS: readonly Avoidable[] = ['unwritable-results', 'messagepack-length-claims'];

/**
 * A small pass of the fuzzer (bench/fuzz/) on this run's platform: its own server in a child
 * process, every category of hostile input, an official client calling Echo throughout. A fixed
 * seed, so a failure is reproduced with `npm run fuzz -- --cases 2000 --seed 13 --platform <platform>`.
 */
describe('fuzzing (small pass)', () => {
  it('survives 2,000 hostile inputs: no crash, every valid invocation answered, no healthy call lost, memory bounded', async () => {
    expect(KNOWN_BUGS.every((name) => AVOIDABLE.includes(name))).toBe(true);
    const report = await runFuzz({ cases: 2000, seed: 13, platform: PLATFORM, avoid: KNOWN_BUGS });
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
