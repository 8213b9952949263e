/** Mirror test for lib/stream/server-decision: the `accept` hook's decisions, sync and async, and its failures. */
import { expect } from 'chai';
import * as vm from 'node:vm';
import { RequestEvent, type AcceptConnectionInit, type Headers } from '../../lib/events';
import type { AcceptDecision } from '../../lib/stream/options';
import { decide, type DecisionTarget } from '../../lib/stream/server-decision';

type Applied = ['accept', AcceptConnectionInit] | ['reject', number, string | Buffer, Headers] | ['hookFailed', Error];

/** A target that records what was applied; `awaiting` says whether the request still waits. */
function recorder(options: { acceptThrows?: Error; rejectThrows?: Error } = {}) {
  const applied: Applied[] = [];
  const state = { awaiting: true, asked: [] as RequestEvent[] };
  const target: DecisionTarget = {
    awaits: (request) => {
      state.asked.push(request);
      return state.awaiting;
    },
    accept: (init) => {
      if (options.acceptThrows) throw options.acceptThrows;
      applied.push(['accept', init]);
      state.awaiting = false;
    },
    reject: (statusCode, body, headers) => {
      if (options.rejectThrows) throw options.rejectThrows;
      applied.push(['reject', statusCode, body, headers]);
      state.awaiting = false;
    },
    hookFailed: (error) => {
      applied.push(['hookFailed', error]);
      state.awaiting = false;
    },
  };
  return { target, applied, state };
}

const request = () => new RequestEvent({ host: 'example.com', target: '/chat', subprotocols: ['chat', 'superchat'] });
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('stream/server-decision', () => {
  describe('synchronous decisions', () => {
    const cases: Array<[string, AcceptDecision, Applied]> = [
      ['true accepts without a subprotocol', true, ['accept', {}]],
      ['false rejects with 403, no body, no headers', false, ['reject', 403, '', []]],
      ['an AcceptConnectionInit accepts with its fields', { subprotocol: 'chat' }, ['accept', { subprotocol: 'chat' }]],
      [
        '{ accept: true, ... } accepts with the fields, without the marker',
        { accept: true, subprotocol: 'superchat', extraHeaders: [['X-A', '1']] },
        ['accept', { subprotocol: 'superchat', extraHeaders: [['X-A', '1']] }],
      ],
      ['{} accepts without a subprotocol', {}, ['accept', {}]],
      ['{ accept: false } rejects with 403', { accept: false }, ['reject', 403, '', []]],
      [
        '{ accept: false, statusCode, body, headers } rejects with that response',
        { accept: false, statusCode: 401, body: 'who are you?', headers: [['WWW-Authenticate', 'Basic']] },
        ['reject', 401, 'who are you?', [['WWW-Authenticate', 'Basic']]],
      ],
      [
        '{ accept: false } with a Buffer body keeps the Buffer',
        { accept: false, statusCode: 429, body: Buffer.from('slow down') },
        ['reject', 429, Buffer.from('slow down'), []],
      ],
    ];
    for (const [title, decision, expected] of cases) {
      it(`${title} (at once, before decide returns)`, () => {
        const { target, applied } = recorder();
        const seen: RequestEvent[] = [];
        const req = request();
        decide(
          req,
          (r) => {
            seen.push(r);
            return decision;
          },
          target,
        );
        expect(seen).to.deep.equal([req]);
        expect(seen[0]).to.equal(req);
        expect(applied).to.deep.equal([expected]);
      });
    }

    it("the decision object given to the hook's caller is not modified (the marker is dropped from a copy)", () => {
      const { target, applied } = recorder();
      const decision = { accept: true as const, subprotocol: 'chat' };
      decide(request(), () => decision, target);
      expect(decision).to.deep.equal({ accept: true, subprotocol: 'chat' });
      expect(applied).to.deep.equal([['accept', { subprotocol: 'chat' }]]);
    });
  });

  describe('asynchronous decisions', () => {
    it('a promise is applied when it resolves, not before', async () => {
      const { target, applied } = recorder();
      let resolve!: (d: AcceptDecision) => void;
      decide(request(), () => new Promise<AcceptDecision>((r) => (resolve = r)), target);
      await settle();
      expect(applied).to.deep.equal([]);
      resolve({ subprotocol: 'chat' });
      await settle();
      expect(applied).to.deep.equal([['accept', { subprotocol: 'chat' }]]);
    });

    it('an async hook resolving false rejects with 403', async () => {
      const { target, applied } = recorder();
      decide(request(), async () => false, target);
      await settle();
      expect(applied).to.deep.equal([['reject', 403, '', []]]);
    });

    it('an async hook resolving a rejection applies its response', async () => {
      const { target, applied } = recorder();
      decide(request(), async () => ({ accept: false, statusCode: 503, body: 'busy', headers: [] }), target);
      await settle();
      expect(applied).to.deep.equal([['reject', 503, 'busy', []]]);
    });

    it('a promise from another realm (vm) is awaited too, not taken for an acceptance object', async () => {
      const { target, applied } = recorder();
      const foreign = vm.runInNewContext('Promise.resolve(false)') as Promise<AcceptDecision>;
      decide(request(), () => foreign, target);
      await settle();
      expect(applied).to.deep.equal([['reject', 403, '', []]]);
    });
  });

  describe('a failing hook is the application failure: hookFailed(error)', () => {
    it('a hook that throws', () => {
      const { target, applied } = recorder();
      const boom = new Error('boom');
      decide(
        request(),
        () => {
          throw boom;
        },
        target,
      );
      expect(applied).to.have.length(1);
      expect(applied[0]![0]).to.equal('hookFailed');
      expect(applied[0]![1]).to.equal(boom);
    });

    it('a hook that throws something other than an Error gets it wrapped in an Error', () => {
      const { target, applied } = recorder();
      decide(
        request(),
        () => {
          throw 'not an error';
        },
        target,
      );
      expect(applied).to.have.length(1);
      const [kind, error] = applied[0]!;
      expect(kind).to.equal('hookFailed');
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.equal('not an error');
    });

    it('a hook whose promise rejects', async () => {
      const { target, applied } = recorder();
      const boom = new Error('async boom');
      decide(request(), () => Promise.reject(boom), target);
      expect(applied).to.deep.equal([]);
      await settle();
      expect(applied).to.deep.equal([['hookFailed', boom]]);
    });

    it('an async hook that throws', async () => {
      const { target, applied } = recorder();
      decide(
        request(),
        async () => {
          throw new Error('thrown in async');
        },
        target,
      );
      await settle();
      expect(applied).to.have.length(1);
      expect(applied[0]![0]).to.equal('hookFailed');
      expect((applied[0]![1] as Error).message).to.equal('thrown in async');
    });

    it('an invalid decision whose accept() throws (sync and async)', async () => {
      const invalid = new Error('subprotocol not offered');
      const sync = recorder({ acceptThrows: invalid });
      decide(request(), () => ({ subprotocol: 'nope' }), sync.target);
      expect(sync.applied).to.deep.equal([['hookFailed', invalid]]);
      const later = recorder({ acceptThrows: invalid });
      decide(request(), async () => ({ subprotocol: 'nope' }), later.target);
      await settle();
      expect(later.applied).to.deep.equal([['hookFailed', invalid]]);
    });

    it('an invalid rejection whose reject() throws', () => {
      const invalid = new Error('bad status');
      const { target, applied } = recorder({ rejectThrows: invalid });
      decide(request(), () => ({ accept: false, statusCode: 99 }), target);
      expect(applied).to.deep.equal([['hookFailed', invalid]]);
    });
  });

  describe('a request that is no longer awaited', () => {
    it('a decision that resolves after the request stopped waiting is ignored', async () => {
      const { target, applied, state } = recorder();
      let resolve!: (d: AcceptDecision) => void;
      const req = request();
      decide(req, () => new Promise<AcceptDecision>((r) => (resolve = r)), target);
      state.awaiting = false; // the stream closed meanwhile
      resolve(true);
      await settle();
      expect(applied).to.deep.equal([]);
      expect(state.asked).to.deep.equal([req]);
      expect(state.asked[0]).to.equal(req);
    });

    it('a rejection of the hook after the request stopped waiting is ignored too', async () => {
      const { target, applied, state } = recorder();
      let fail!: (e: Error) => void;
      decide(request(), () => new Promise<AcceptDecision>((_, r) => (fail = r)), target);
      state.awaiting = false;
      fail(new Error('late'));
      await settle();
      expect(applied).to.deep.equal([]);
    });

    it('a synchronous decision for a request that is not awaited is ignored', () => {
      const { target, applied, state } = recorder();
      state.awaiting = false;
      decide(request(), () => true, target);
      expect(applied).to.deep.equal([]);
    });
  });
});
