/**
 * Heap per object of what a connection is made of, to read the idle-connection rows
 * against: `node dist/bench/object-sizes.js`. Each figure is (heapUsed after making
 * 20,000 of them and collecting garbage − before) / 20,000.
 *
 * The Duplex rows are the floor of the stream layer's design: one `readable-stream`
 * Duplex per connection (Node's own streams keep their flags in bit fields and are
 * smaller; the design uses `readable-stream`).
 */
import { Duplex as NodeDuplex } from 'node:stream';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Duplex } from 'readable-stream';
import { WSConnection, WebSocketDuplex } from '../lib/index';

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
const N = 20_000;

class RsDuplex extends Duplex {
  override _write(_chunk: unknown, _encoding: string, callback: () => void): void {
    callback();
  }
  override _read(): void {}
}
class CoreDuplex extends NodeDuplex {
  override _write(_chunk: unknown, _encoding: string, callback: () => void): void {
    callback();
  }
  override _read(): void {}
}

function measure(name: string, make: () => unknown): void {
  collect();
  collect();
  const before = process.memoryUsage().heapUsed;
  const keep: unknown[] = [];
  for (let i = 0; i < N; i++) keep.push(make());
  collect();
  collect();
  const after = process.memoryUsage().heapUsed;
  console.log(`${name.padEnd(58)} ${((after - before) / N).toFixed(0).padStart(5)} B`);
  keep.length = 0;
}

console.log(`node ${process.version}; heap per object, ${N.toLocaleString('en-US')} objects`);
measure('readable-stream Duplex (an empty subclass)', () => new RsDuplex());
measure("Node's stream.Duplex (an empty subclass)", () => new CoreDuplex());
measure('WSConnection (server, before the handshake)', () => new WSConnection('server'));
measure('WebSocketDuplex (server, before the handshake)', () => {
  const ws = new WebSocketDuplex('server', { handshakeTimeout: 0 });
  return ws;
});
