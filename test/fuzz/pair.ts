/**
 * A client and a server `WSConnection` that did a real opening handshake with each
 * other in memory (so permessage-deflate is negotiated exactly as on the wire), for the
 * fuzz properties that need both ends.
 */
import fc from 'fast-check';
import {
  AcceptConnection,
  PerMessageDeflate,
  Request,
  WSConnection,
  type Connection,
  type PerMessageDeflateOptions,
  type WSConnectionOptions,
} from '../../lib/index';

/** Compression settings of a pair: off, or the options of each end. */
export type DeflateSetup = null | { client: PerMessageDeflateOptions; server: PerMessageDeflateOptions };

/** The two ends, open, and the handshake bytes each sent. */
export interface Pair {
  client: WSConnection;
  server: WSConnection;
  /** The client's request head. */
  request: Buffer;
  /** The server's 101 response head. */
  response: Buffer;
  /** True when permessage-deflate was negotiated. */
  compressed: boolean;
}

/** Shake hands in memory. Throws if the handshake does not complete. */
export function handshakePair(
  deflate: DeflateSetup,
  limits: WSConnectionOptions = {},
  subprotocols: string[] = [],
): Pair {
  const client = new WSConnection('client', limits);
  const server = new WSConnection('server', limits);
  const request = client.send(
    new Request({
      host: 'example.com',
      target: '/fuzz',
      subprotocols,
      extensions: deflate === null ? [] : [new PerMessageDeflate(deflate.client)],
    }),
  );
  server.receiveData(Buffer.from(request));
  const req = [...server.events()];
  if (req.length !== 1 || req[0]!.type !== 'request') throw new Error(`server did not get the request: ${req}`);
  const response = server.send(
    new AcceptConnection({
      subprotocol: subprotocols[0] ?? null,
      extensions: deflate === null ? [] : [new PerMessageDeflate(deflate.server)],
    }),
  );
  client.receiveData(Buffer.from(response));
  const acc = [...client.events()];
  if (acc.length !== 1 || acc[0]!.type !== 'accept') throw new Error(`client did not get the 101: ${acc}`);
  const compressed = (client.connection?.extensions.length ?? 0) > 0;
  if (compressed !== (deflate !== null)) throw new Error('permessage-deflate was not negotiated');
  return { client, server, request, response, compressed };
}

/** The `Connection` of an open `WSConnection`. */
export function connectionOf(ws: WSConnection): Connection {
  const conn = ws.connection;
  if (conn === null) throw new Error(`not open: ${ws.state}`);
  return conn;
}

const backends = PerMessageDeflate.zlibSyncAvailable ? (['node:zlib', 'zlib-sync'] as const) : (['node:zlib'] as const);

/** Negotiation options for both ends (always compatible, so deflate is on). */
export const deflateSetup: fc.Arbitrary<Exclude<DeflateSetup, null>> = fc
  .record({
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.option(fc.integer({ min: 9, max: 15 })),
    clientMaxWindowBits: fc.oneof(fc.constant(true as const), fc.integer({ min: 9, max: 15 })),
    serverLimitsClient: fc.option(fc.integer({ min: 9, max: 15 })),
    threshold: fc.constantFrom(0, 16, 1024),
    level: fc.constantFrom(-1, 0, 1, 9),
    clientBackend: fc.constantFrom(...backends),
    serverBackend: fc.constantFrom(...backends),
  })
  .map((o) => {
    const client: PerMessageDeflateOptions = {
      serverNoContextTakeover: o.serverNoContextTakeover,
      clientNoContextTakeover: o.clientNoContextTakeover,
      clientMaxWindowBits: o.clientMaxWindowBits,
      threshold: o.threshold,
      level: o.level,
      inflateBackend: o.clientBackend,
      ...(o.serverMaxWindowBits === null ? {} : { serverMaxWindowBits: o.serverMaxWindowBits }),
    };
    const server: PerMessageDeflateOptions = {
      threshold: o.threshold,
      level: o.level,
      inflateBackend: o.serverBackend,
      ...(o.serverLimitsClient === null ? {} : { clientMaxWindowBits: o.serverLimitsClient }),
    };
    return { client, server };
  });
