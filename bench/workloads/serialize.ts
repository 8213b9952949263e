/**
 * Workloads 5-6: turning a message into frame bytes.
 *
 * - serialize 16 B text, server (unmasked): ours `conn.send(new TextMessage({ data }))`
 *   on a server `Connection`; ws `Sender.frame(Buffer.from(data), { fin: true, rsv1:
 *   false, opcode: 1, mask: false, readOnly: false })` (the string to Buffer conversion
 *   is counted for ws: its send() hands the string on, and it is converted when written).
 * - serialize 1 MiB binary, client (masked): ours `conn.send(new BytesMessage({ data }))`
 *   on a client `Connection`; ws `Sender.frame(data, { ..., opcode: 2, mask: true,
 *   readOnly: true, maskBuffer })` as its client's send() does for a caller's Buffer
 *   (readOnly: the caller's buffer is not masked in place; mask key from ws's pool).
 */
import { BytesMessage, Connection, TextMessage } from '../../lib/index';
import { clock, since, randomBytes, smallTexts, wsLib } from '../common';
import type { Lib, Pass, Workload } from '../workload';

const Sender = wsLib.Sender;

function serializeText(): Workload {
  const COUNT = 20_000;
  let texts: string[] = [];
  return {
    name: 'serialize-16b-text',
    metrics: [{ key: 'value', title: 'serialize 16 B text (server)', unit: 'msg/s', better: 'higher', target: 1.5 }],
    python: 'serialize-16b-text',
    setup() {
      texts = smallTexts(1024, 16);
    },
    pass(lib: Lib): Pass {
      let sink = 0;
      const check = (t: { ms: number; cpuMs: number }) => {
        if (sink === 0) throw new Error('nothing serialized');
        return { units: COUNT, ...t };
      };
      if (lib === 'ours') {
        const conn = new Connection('server');
        return () => {
          const t0 = clock();
          for (let i = 0; i < COUNT; i++) {
            const out = conn.send(new TextMessage({ data: texts[i & 1023]! }));
            sink += out.length;
          }
          return check(since(t0));
        };
      }
      return () => {
        const t0 = clock();
        for (let i = 0; i < COUNT; i++) {
          const list: Buffer[] = Sender.frame(Buffer.from(texts[i & 1023]!), {
            fin: true,
            rsv1: false,
            opcode: 1,
            mask: false,
            readOnly: false,
          });
          sink += list[0]!.length + (list.length > 1 ? list[1]!.length : 0);
        }
        return check(since(t0));
      };
    },
  };
}

function serializeLarge(): Workload {
  const SIZE = 1024 * 1024;
  const COUNT = 32;
  let payloads: Buffer[] = [];
  return {
    name: 'serialize-1m-masked',
    metrics: [
      { key: 'value', title: 'serialize 1 MiB binary (client, masked)', unit: 'B/s', better: 'higher', target: 1.0 },
    ],
    setup() {
      payloads = Array.from({ length: 4 }, () => randomBytes(SIZE));
    },
    pass(lib: Lib): Pass {
      let sink = 0;
      const check = (t: { ms: number; cpuMs: number }) => {
        if (sink === 0) throw new Error('nothing serialized');
        return { units: COUNT * SIZE, ...t };
      };
      if (lib === 'ours') {
        const conn = new Connection('client');
        return () => {
          const t0 = clock();
          for (let i = 0; i < COUNT; i++) {
            const out = conn.send(new BytesMessage({ data: payloads[i & 3]! }));
            sink += out.length;
          }
          return check(since(t0));
        };
      }
      const maskBuffer = Buffer.alloc(4);
      return () => {
        const t0 = clock();
        for (let i = 0; i < COUNT; i++) {
          const list: Buffer[] = Sender.frame(payloads[i & 3]!, {
            fin: true,
            rsv1: false,
            opcode: 2,
            mask: true,
            maskBuffer,
            readOnly: true,
          });
          sink += list[0]!.length + (list.length > 1 ? list[1]!.length : 0);
        }
        return check(since(t0));
      };
    },
    teardown() {
      payloads = [];
    },
  };
}

export const serializeWorkloads: Workload[] = [serializeText(), serializeLarge()];
