import { HttpTexts } from '../../src/signalr.messages.js';
import { MAX_NEGOTIATE_VERSION, negotiateResponse, readNegotiateVersion, wantsStatefulReconnect } from '../../src/transports/negotiate.js';

const CONNECTION = { connectionId: 'id-1', connectionToken: 'token-1' };
const ALL = ['WebSockets', 'ServerSentEvents', 'LongPolling'] as const;

/**
 * The negotiate answer on its own: negotiate.spec.ts (e2e) checks it over HTTP with the official
 * client; these pin the body byte for byte (.NET's property order) and the query parsing.
 */
describe('negotiate', () => {
  describe('negotiateResponse', () => {
    it('version 1: the connection token and every transport with its transfer formats, in .NET order', () => {
      expect(negotiateResponse(1, CONNECTION, ALL)).toBe(
        '{"negotiateVersion":1,"connectionId":"id-1","connectionToken":"token-1","availableTransports":[' +
          '{"transport":"WebSockets","transferFormats":["Text","Binary"]},' +
          '{"transport":"ServerSentEvents","transferFormats":["Text"]},' +
          '{"transport":"LongPolling","transferFormats":["Text","Binary"]}]}',
      );
    });

    it('version 0: no connection token (the client uses the id in its place)', () => {
      expect(negotiateResponse(0, CONNECTION, ['LongPolling'])).toBe(
        '{"negotiateVersion":0,"connectionId":"id-1","availableTransports":[{"transport":"LongPolling","transferFormats":["Text","Binary"]}]}',
      );
    });

    it('lists only the transports given, in their order', () => {
      const body = JSON.parse(negotiateResponse(1, CONNECTION, ['LongPolling', 'WebSockets'])) as { availableTransports: Array<{ transport: string }> };
      expect(body.availableTransports.map((each) => each.transport)).toEqual(['LongPolling', 'WebSockets']);
      expect(JSON.parse(negotiateResponse(1, CONNECTION, [])).availableTransports).toEqual([]);
    });

    it('puts useStatefulReconnect first, and only when it was asked for and granted', () => {
      expect(negotiateResponse(1, { ...CONNECTION, statefulRequested: true }, ['WebSockets'])).toBe(
        '{"useStatefulReconnect":true,"negotiateVersion":1,"connectionId":"id-1","connectionToken":"token-1",' +
          '"availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}',
      );
      expect(negotiateResponse(1, { ...CONNECTION, statefulRequested: false }, ['WebSockets'])).not.toContain('useStatefulReconnect');
    });
  });

  describe('readNegotiateVersion', () => {
    const read = (query: string) => readNegotiateVersion(new URLSearchParams(query));

    it('is 0 when the client names no version (the oldest clients)', () => {
      expect(read('')).toEqual({ version: 0 });
      expect(read('id=abc')).toEqual({ version: 0 });
    });

    it('takes the version the client asks for, capped at the highest the server speaks', () => {
      expect(MAX_NEGOTIATE_VERSION).toBe(1);
      expect([read('negotiateVersion=0'), read('negotiateVersion=1'), read('negotiateVersion=7')]).toEqual([{ version: 0 }, { version: 1 }, { version: 1 }]);
    });

    it('matches the key without case and takes its first occurrence', () => {
      expect(read('NEGOTIATEVERSION=1')).toEqual({ version: 1 });
      expect(read('negotiateversion=0&negotiateVersion=1')).toEqual({ version: 0 });
    });

    it("answers ASP.NET Core's texts for a version that is not an integer or is negative", () => {
      for (const raw of ['', 'one', '1.5', '1e2', '0x1'])
        expect({ raw, ...read(`negotiateVersion=${raw}`) }).toEqual({ raw, error: HttpTexts.nonIntegerVersion });
      expect(read('negotiateVersion=-1')).toEqual({ error: HttpTexts.unsupportedVersion(-1) });
      expect(HttpTexts.unsupportedVersion(-1)).toBe("The client requested version '-1', but the server does not support this version.");
    });

    it('accepts a version with surrounding spaces', () => {
      expect(read('negotiateVersion=%201%20')).toEqual({ version: 1 });
    });
  });

  describe('wantsStatefulReconnect', () => {
    const wants = (query: string) => wantsStatefulReconnect(new URLSearchParams(query));

    it('is true for useStatefulReconnect=true, key and value without case', () => {
      expect([wants('useStatefulReconnect=true'), wants('USESTATEFULRECONNECT=TRUE'), wants('useStatefulReconnect=%20True%20')]).toEqual([true, true, true]);
    });

    it('is false when absent or anything but true, deciding on the first occurrence', () => {
      expect([wants(''), wants('useStatefulReconnect=false'), wants('useStatefulReconnect=1'), wants('useStatefulReconnect=')]).toEqual([
        false,
        false,
        false,
        false,
      ]);
      expect(wants('useStatefulReconnect=false&useStatefulReconnect=true')).toBe(false);
    });
  });
});
