/**
 * Workloads 1-4: parsing what a client sends (masked frames), on the server side, fed
 * in 64 KiB chunks as a socket delivers them.
 *
 * - ours: `new Connection('server')`, `receiveData(chunk)`, then `nextEvent()` until
 *   null; a message counts when its `messageFinished` event arrives (large messages come
 *   in pieces, one per chunk, which is how the API delivers them).
 * - ws: `new Receiver({ isServer: true, binaryType: 'nodebuffer', maxPayload: 0 })`,
 *   `receiver.write(chunk)`, with a 'message' listener that turns text into a string
 *   (`data.toString()`) as an application would. ws assembles whole messages.
 *
 * The input is built once; both parsers unmask in place, so the pristine bytes are
 * copied back before every pass, outside the timed region.
 */
import { Connection } from '../../lib/index';
import { Input, buildFrame, clock, since, smallTexts, utf8Text, randomBytes, wsLib } from '../common';
import type { Lib, Pass, Workload } from '../workload';

const TEXT = 0x1;
const BINARY = 0x2;

interface Shape {
  name: string;
  title: string;
  opcode: number;
  /** Payload size of each message. */
  size: number;
  /** Messages per pass over the input. */
  count: number;
  unit: 'msg/s' | 'B/s';
  target: number;
  python?: string;
}

function buildInput(shape: Shape): Input {
  const frames: Buffer[] = [];
  if (shape.opcode === TEXT && shape.size < 1024) {
    const texts = smallTexts(1000, shape.size).map((t) => Buffer.from(t));
    for (let i = 0; i < shape.count; i++) frames.push(buildFrame(TEXT, texts[i % texts.length]!, { mask: true }));
  } else {
    const payloads =
      shape.opcode === TEXT
        ? [Buffer.from(utf8Text(shape.size, 2)), Buffer.from(utf8Text(shape.size, 3))]
        : Array.from({ length: 8 }, () => randomBytes(shape.size));
    for (let i = 0; i < shape.count; i++) {
      frames.push(buildFrame(shape.opcode, payloads[i % payloads.length]!, { mask: true }));
    }
  }
  return new Input(frames, shape.count);
}

function oursPass(input: Input, scale: number): Pass {
  const conn = new Connection('server');
  return () => {
    input.restore();
    let messages = 0;
    let length = 0;
    const t0 = clock();
    for (const chunk of input.chunks) {
      conn.receiveData(chunk);
      for (let event = conn.nextEvent(); event !== null; event = conn.nextEvent()) {
        if (event.type === 'text' || event.type === 'bytes') {
          length += event.data.length;
          if (event.messageFinished) messages++;
        } else {
          throw new Error(`unexpected ${event.type} event`);
        }
      }
    }
    const t = since(t0);
    if (messages !== input.messages || length < messages)
      throw new Error(`ours parsed ${messages} of ${input.messages} messages`);
    return { units: messages * scale, ...t };
  };
}

function wsPass(input: Input, scale: number): Pass {
  const receiver = new wsLib.Receiver({ isServer: true, binaryType: 'nodebuffer', maxPayload: 0 });
  let messages = 0;
  let length = 0;
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      length += data.length;
    } else {
      const s = data.toString();
      length += s.length;
    }
    messages++;
  });
  receiver.on('error', (error: Error) => {
    throw error;
  });
  return () => {
    input.restore();
    messages = 0;
    length = 0;
    const t0 = clock();
    for (const chunk of input.chunks) receiver.write(chunk);
    const t = since(t0);
    if (messages !== input.messages || length < messages)
      throw new Error(`ws parsed ${messages} of ${input.messages} messages`);
    return { units: messages * scale, ...t };
  };
}

function parseWorkload(shape: Shape): Workload {
  let input: Input | null = null;
  // msg/s counts messages; B/s counts payload bytes (whole messages times their size).
  const scale = shape.unit === 'msg/s' ? 1 : shape.size;
  return {
    name: shape.name,
    metrics: [{ key: 'value', title: shape.title, unit: shape.unit, better: 'higher', target: shape.target }],
    ...(shape.python === undefined ? {} : { python: shape.python }),
    setup() {
      input = buildInput(shape);
    },
    pass(lib: Lib) {
      return lib === 'ours' ? oursPass(input!, scale) : wsPass(input!, scale);
    },
    teardown() {
      input = null;
    },
  };
}

export const parseWorkloads: Workload[] = [
  parseWorkload({
    name: 'parse-16b-text',
    title: 'parse 16 B text',
    opcode: TEXT,
    size: 16,
    count: 10_000,
    unit: 'msg/s',
    target: 2.5,
    python: 'parse-16b-text',
  }),
  parseWorkload({
    name: 'parse-1k-binary',
    title: 'parse 1 KiB binary',
    opcode: BINARY,
    size: 1024,
    count: 8192,
    unit: 'B/s',
    target: 2.5,
    python: 'parse-1k-binary',
  }),
  parseWorkload({
    name: 'parse-1m-binary',
    title: 'parse 1 MiB binary',
    opcode: BINARY,
    size: 1024 * 1024,
    count: 32,
    unit: 'B/s',
    target: 1.5,
  }),
  parseWorkload({
    name: 'parse-1m-text',
    title: 'parse 1 MiB text',
    opcode: TEXT,
    size: 1024 * 1024,
    count: 4,
    unit: 'B/s',
    target: 1.0,
  }),
];
