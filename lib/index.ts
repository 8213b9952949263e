/**
 * wsproto: a sans-I/O WebSocket protocol stack (RFC 6455, RFC 7692) for Node.js.
 * This module only re-exports the public surface.
 *
 * @packageDocumentation
 * @document ../docs/embedding.md
 * @document ../docs/from-ws.md
 * @document ../docs/deployment.md
 */
export { CloseReason, isValidWireCode, type CloseReasonCode } from './close-codes';
export {
  Connection,
  ConnectionState,
  ConnectionType,
  type ConnectionOptions,
  type ConnectionRole,
  type ConnectionStateValue,
  type SendableType,
} from './connection';
export {
  LocalProtocolError,
  RemoteProtocolError,
  type LocalErrorCode,
  type RemoteErrorCode,
  type RemoteProtocolErrorOptions,
} from './errors';
export {
  AcceptConnectionEvent as AcceptConnection,
  BytesMessageEvent as BytesMessage,
  CloseConnectionEvent as CloseConnection,
  PingEvent as Ping,
  PongEvent as Pong,
  RejectConnectionEvent as RejectConnection,
  RejectDataEvent as RejectData,
  RequestEvent as Request,
  TextMessageEvent as TextMessage,
  type AcceptConnectionInit,
  type BytesMessageInit,
  type CloseConnectionInit,
  type ConnectionEvent,
  type Headers,
  type PingInit,
  type RejectConnectionInit,
  type RejectDataInit,
  type RequestInit,
  type TextMessageInit,
  type WSEvent,
} from './events';
export type { Extension, ExtensionParams } from './extensions/extension';
export type { MaskKeyGenerator } from './frame/mask';
export { DEFAULT_MAX_MESSAGE_SIZE, type FrameLimits } from './frame/limits';
export { Opcode, type OpcodeValue } from './frame/opcode';
export { WSConnection, type WSConnectionOptions } from './ws-connection';
export { PreparedMessage, type PreparedMessageOptions } from './prepared-message';
export { WebSocketDuplex } from './stream/websocket-duplex';
export type { WebSocketDuplexEvents, WebSocketDuplexListener } from './stream/duplex-events';
export type { AcceptDecision, SendOptions, WebSocketDuplexOptions } from './stream/options';
export type { Message, MessagesOptions } from './stream/messages';
export type { ReadyState } from './stream/ready-state';
export { handleUpgrade, type UpgradeOptions } from './stream/upgrade';
export { handleHttp2Stream, isWebSocketConnect, type Http2UpgradeRequest } from './stream/http2/server';
export type { Http2Option } from './stream/http2/client';
export {
  WebSocketServer,
  type ServerCloseOptions,
  type UpgradeRequest,
  type WebSocketServerEvents,
  type WebSocketServerOptions,
} from './stream/server/websocket-server';
export type { DeliveryCounts, SlowClientPolicy } from './stream/server/delivery';
export type { AnyHttp2Server } from './stream/server/http2-router';
export {
  AbortError,
  connect,
  ConnectError,
  HandshakeRejectedError,
  ProxyRejectedError,
  type ConnectHeaders,
  type ConnectOptions,
} from './stream/connect';
export type { ConnectErrorCode } from './stream/client/errors';
export type { CreateConnection, TransportTarget } from './stream/client/dial';
export type { ProxyOption } from './stream/client/proxy';
export type { HandshakeResponse } from './stream/opening';
export {
  PerMessageDeflate,
  DEFAULT_THRESHOLD,
  type DeflateMemoryMode,
  type InflateBackendName,
  type NegotiatedDeflate,
  type PerMessageDeflateOptions,
} from './extensions/permessage-deflate';
export { WebSocket, type BinaryType, type WebSocketInit } from './web/websocket';
export type { WebSocketData } from './web/outbox';
export { CloseEvent, type CloseEventInit, type EventHandler } from './web/events';
export {
  WebSocketStream,
  type WebSocketCloseResult,
  type WebSocketOpenInfo,
  type WebSocketStreamChunk,
  type WebSocketStreamOptions,
} from './web/websocket-stream';
export { WebSocketError, type WebSocketCloseInfo } from './web/websocket-error';
