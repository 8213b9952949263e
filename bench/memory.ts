/**
 * The child process of the memory workloads (started by bench/workloads/memory.ts with
 * --expose-gc): holds connections of one library and reports its memory on request.
 *
 *   node --expose-gc dist/bench/memory.js <ours|ws> server <idle|deflate|deflate-low>
 *     runs an echo server; the parent opens the clients.
 *   node --expose-gc dist/bench/memory.js socket server idle
 *     holds bare upgraded sockets (the floor under both libraries, see startSocketServer).
 *   node --expose-gc dist/bench/memory.js <ours|ws> client deflate
 *     opens compressed clients against the parent's server when told to.
 *
 * Protocol (IPC): the child sends { type: 'ready', port }; the parent sends
 * { cmd: 'snapshot' } (answer: { type: 'snapshot', ...settledMemory(), connections }:
 * after garbage collection, RSS without V8's young generation), { cmd: 'open', port, n }
 * (answer: { type: 'opened', n }), { cmd: 'close' } (answer: { type: 'closed' }).
 */
import { settledMemory } from './child';
import {
  closeAll,
  openClients,
  startServer,
  startSocketServer,
  type Closable,
  type EchoServer,
  type MemoryMode,
} from './memory-clients';
import type { Lib } from './workload';

interface Command {
  cmd: 'snapshot' | 'open' | 'close';
  port?: number;
  n?: number;
}

async function main(): Promise<void> {
  const [lib, role, mode] = process.argv.slice(2) as [Lib | 'socket', 'server' | 'client', MemoryMode];
  if (
    (lib !== 'ours' && lib !== 'ws' && !(lib === 'socket' && role === 'server' && mode === 'idle')) ||
    (role !== 'server' && role !== 'client') ||
    (mode !== 'idle' && mode !== 'deflate' && mode !== 'deflate-low')
  ) {
    throw new Error('usage: memory.js <ours|ws> <server|client> <idle|deflate|deflate-low> | socket server idle');
  }
  const send = (message: object): void => void process.send!(message);
  let server: EchoServer | null = null;
  const clients: Closable[] = [];
  if (role === 'server') server = lib === 'socket' ? await startSocketServer() : await startServer(lib, mode);

  process.on('message', (command: Command) => {
    void (async () => {
      try {
        if (command.cmd === 'snapshot') {
          send({
            type: 'snapshot',
            ...(await settledMemory()),
            connections: server !== null ? server.connections() : clients.length,
          });
        } else if (command.cmd === 'open') {
          clients.push(...(await openClients({ mode: 'deflate', lib: lib as Lib }, command.port!, command.n!)));
          send({ type: 'opened', n: clients.length });
        } else if (command.cmd === 'close') {
          closeAll(clients);
          await new Promise((resolve) => setTimeout(resolve, 100));
          send({ type: 'closed' });
        }
      } catch (error) {
        send({ type: 'error', message: String((error as Error).stack ?? error) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port: server?.port ?? 0 });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
