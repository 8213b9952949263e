/**
 * Differential testing, the conversation: what both sides report, merged the same way
 * (whole messages, unfinished ones, pings, pongs, closes and who closed), and our side
 * of a case (a fresh `Connection` fed the case's chunks).
 */
import { Connection, PerMessageDeflate, type ConnectionEvent } from '../../../lib/index';
import type { DiffCase } from './generator';

/** An event as both sides report it (Python prints these; ours are converted). */
export type Raw =
  | ['text', string, boolean, boolean]
  | ['bytes', string, boolean, boolean]
  | ['ping' | 'pong', string]
  | ['close', number, string, CloseKind]
  | ['exception', string]
  | ['marker', Marker];

/**
 * What wsproto_diff.py notes in wsproto's permessage-deflate (not events): a control frame
 * inside a compressed message, a compressed message with an empty payload, the end of
 * the DEFLATE stream (BFINAL).
 */
export type Marker = 'deflate-interleaved' | 'deflate-empty' | 'deflate-eof';

/** peer: a close frame arrived; failure: the receiver failed the connection; eof: transport EOF (1006). */
export type CloseKind = 'peer' | 'failure' | 'eof';

/** A merged conversation entry: whole messages, unfinished ones (`-partial`), control events, closes. */
export type Entry = ReadonlyArray<string | number>;

export interface Conversation {
  entries: Entry[];
  /** The reason of the failure close, if any (each library words its own; not compared). */
  failureReason?: string;
  /** Python only: the markers, each with the entry count when it was noted. */
  markers: Array<{ marker: Marker; at: number }>;
}

/** Merge message pieces into messages (an unfinished one stays partial, before a close). */
export function normalize(raw: readonly Raw[]): Conversation {
  const entries: Entry[] = [];
  const markers: Conversation['markers'] = [];
  let failureReason: string | undefined;
  let text: string | null = null;
  let bytes: string | null = null;
  const flush = () => {
    // An unfinished message that delivered nothing yet is no entry (wsproto reports
    // empty pieces, we do not).
    if (text !== null && text !== '') entries.push(['text-partial', text]);
    if (bytes !== null && bytes !== '') entries.push(['bytes-partial', bytes]);
    text = bytes = null;
  };
  for (const e of raw) {
    switch (e[0]) {
      case 'text':
        text = (text ?? '') + e[1];
        if (e[3]) {
          entries.push(['text', text]);
          text = null;
        }
        break;
      case 'bytes':
        bytes = (bytes ?? '') + e[1];
        if (e[3]) {
          entries.push(['bytes', bytes]);
          bytes = null;
        }
        break;
      case 'ping':
      case 'pong':
        entries.push([e[0], e[1]]);
        break;
      case 'close':
        flush();
        // Failure reasons are each library's own wording; only a peer's reason is data.
        entries.push(['close', e[1], e[3], e[3] === 'peer' ? e[2] : '']);
        if (e[3] === 'failure') failureReason ??= e[2];
        break;
      case 'exception':
        flush();
        entries.push(['exception', e[1]]);
        break;
      case 'marker':
        markers.push({ marker: e[1], at: entries.length });
        break;
    }
  }
  flush();
  return { entries, markers, ...(failureReason === undefined ? {} : { failureReason }) };
}

/** Our side: a fresh Connection fed the same chunks (drained after each), then EOF. */
export function runOurs(c: Pick<DiffCase, 'role' | 'deflate' | 'zlibSync' | 'chunks' | 'eof'>): Conversation {
  const extensions =
    c.deflate === null ? [] : [ourDeflate(c.role, c.deflate, (c.zlibSync || ONLY_ZLIB_SYNC) && ZLIB_SYNC)];
  const conn = new Connection(c.role, { extensions });
  const raw: Raw[] = [];
  let failureSeen = false;
  let eofPhase = false;
  const drain = () => {
    for (const e of conn.events()) raw.push(toRaw(e));
  };
  const toRaw = (e: ConnectionEvent): Raw => {
    switch (e.type) {
      case 'text':
        return ['text', e.data, e.frameFinished, e.messageFinished];
      case 'bytes':
        return ['bytes', e.data.toString('hex'), e.frameFinished, e.messageFinished];
      case 'ping':
      case 'pong':
        return [e.type, e.payload.toString('hex')];
      case 'close': {
        let kind: CloseKind = 'peer';
        if (eofPhase && e.code === 1006) kind = 'eof';
        else if (conn.failed && !failureSeen) {
          kind = 'failure';
          failureSeen = true;
        }
        return ['close', e.code, e.reason, kind];
      }
    }
  };
  try {
    for (const chunk of c.chunks) {
      // A copy: receiveData may take ownership of the bytes (and unmask them in place).
      conn.receiveData(Buffer.from(chunk));
      drain();
    }
    if (c.eof) {
      eofPhase = true;
      conn.receiveData(null);
      drain();
    }
  } catch (error) {
    // README: after the handshake nothing the peer sends throws; this is a bug.
    raw.push(['exception', `${(error as Error).name}: ${(error as Error).message}`]);
  }
  return normalize(raw);
}

/**
 * Whether deflate cases may use the optional zlib-sync addon (half of them then do);
 * WSPROTO_DIFF_BACKEND=node:zlib or zlib-sync runs every deflate case on one backend.
 */
export const ZLIB_SYNC = PerMessageDeflate.zlibSyncAvailable && process.env.WSPROTO_DIFF_BACKEND !== 'node:zlib';
export const ONLY_ZLIB_SYNC = ZLIB_SYNC && process.env.WSPROTO_DIFF_BACKEND === 'zlib-sync';

/** Our permessage-deflate, configured as a handshake with `agreed` would have left it. */
export function ourDeflate(role: 'client' | 'server', agreed: string, zlibSync: boolean): PerMessageDeflate {
  const [name, ...rest] = agreed.split(';').map((s) => s.trim());
  const params = rest.map((p): [string, string | null] => {
    const [k, v] = p.split('=');
    return [k!, v ?? null];
  });
  const extension = new PerMessageDeflate({ inflateBackend: zlibSync ? 'zlib-sync' : 'node:zlib' });
  if (role === 'server') {
    if (extension.accept({ name: name!, params }) === null) throw new Error(`our server declined ${agreed}`);
  } else extension.finalize({ name: name!, params });
  return extension;
}
