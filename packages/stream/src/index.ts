// Public API of @enclave-vm/stream. Named exports only; each section is owned by one folder.

// --- ndjson ---

export type { Emitter, Unsubscribe } from '@enclave-vm/types';
export type { NDJSONDecoderStreamOptions } from './ndjson/create-ndjson-decoder-stream.js';
export { createNDJSONDecoderStream } from './ndjson/create-ndjson-decoder-stream.js';
export type { NDJSONEncoderStreamOptions } from './ndjson/create-ndjson-encoder-stream.js';
export { createNDJSONEncoderStream } from './ndjson/create-ndjson-encoder-stream.js';
export { DEFAULT_MAX_LINE_SIZE } from './ndjson/max-line-size.js';
export type { ParseNDJSONOptions } from './ndjson/parse-ndjson.js';
export { parseNDJSON } from './ndjson/parse-ndjson.js';
export type { NDJSONSource, ReadNDJSONOptions } from './ndjson/read-ndjson.js';
export { readNDJSON } from './ndjson/read-ndjson.js';
export type { NDJSONChunk, StreamDecoderEvents, StreamDecoderOptions } from './ndjson/stream-decoder.js';
export { StreamDecoder } from './ndjson/stream-decoder.js';
export type { StreamEncoderOptions } from './ndjson/stream-encoder.js';
export { StreamEncoder } from './ndjson/stream-encoder.js';
export { stringifyNDJSON } from './ndjson/stringify-ndjson.js';
export type { EventMap, TypedEventListener, TypedEventListeners } from './ndjson/typed-event-emitter.js';
export { TypedEventEmitter } from './ndjson/typed-event-emitter.js';

// --- crypto ---

export type {
  DeriveDirectionalKeysOptions,
  DirectionalKeys,
} from './crypto/derive-directional-keys.js';
export { DIRECTION_KEY_INFO, deriveDirectionalKeys } from './crypto/derive-directional-keys.js';
export type { DeriveSharedSecretOptions } from './crypto/derive-shared-secret.js';
export { DEFAULT_SHARED_SECRET_INFO, deriveSharedSecret } from './crypto/derive-shared-secret.js';
export type { ChannelRole, Direction } from './crypto/direction.js';
export type { BytesOrText, EncryptedPayload } from './crypto/encrypt.js';
export { decrypt, decryptBytes, encrypt } from './crypto/encrypt.js';
export type {
  EncryptedChannel,
  EncryptedChannelOptions,
  EncryptedFrame,
} from './crypto/encrypted-channel.js';
export { createEncryptedChannel } from './crypto/encrypted-channel.js';
export type { OpenedEvents } from './crypto/event-opener.js';
export { generateSalt } from './crypto/generate-salt.js';
export type { GenerateKeyPairOptions } from './crypto/key-pair.js';
export { exportPublicKey, generateKeyPair, importPublicKey } from './crypto/key-pair.js';
export type { SealedMessage, SessionCipher, SessionCipherOptions } from './crypto/session-cipher.js';
export { createSessionCipher } from './crypto/session-cipher.js';

// --- reconnect and transport ---

export { abortableDelay } from './reconnect/abortable-delay.js';
export type { BackoffOptions } from './reconnect/compute-backoff-delay.js';
export { computeBackoffDelay, DEFAULT_BACKOFF_OPTIONS } from './reconnect/compute-backoff-delay.js';
export { ConnectionLost } from './reconnect/connection-lost.js';
export type {
  ReconnectingStreamOptions,
  ReconnectingStreamState,
  ReconnectOptions,
} from './reconnect/reconnecting-stream.js';
export { RECONNECTING_STREAM_DEFAULTS, ReconnectingStream } from './reconnect/reconnecting-stream.js';
export type { ReplayBufferOptions, ReplayRange } from './reconnect/replay-buffer.js';
export { ReplayBuffer } from './reconnect/replay-buffer.js';
export type { ResumableBatches, ResumableOpen, ResumableOptions } from './reconnect/resumable.js';
export { ResumableReader, resumable } from './reconnect/resumable.js';
export type { RetryPolicy } from './reconnect/retry-policy.js';
export {
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_RETRY_POLICY,
  resolveRetryPolicy,
} from './reconnect/retry-policy.js';
export type { GiveUpContext } from './reconnect/retry-schedule.js';
export { RetrySchedule } from './reconnect/retry-schedule.js';
export type { SequenceCheck, SequencedMessage } from './reconnect/sequence-tracker.js';
export { SequenceTracker } from './reconnect/sequence-tracker.js';
export type { TransportSubscriptionOptions } from './reconnect/subscribe-over-transport.js';
export { subscribeOverTransport } from './reconnect/subscribe-over-transport.js';
export { createInMemoryTransportPair } from './transport/in-memory-transport.js';
export type { Transport } from './transport/transport.js';
export type { WebSocketConstructor, WebSocketEventLike, WebSocketLike } from './transport/web-socket-like.js';
export type {
  WebSocketTransportConnectOptions,
  WebSocketTransportOptions,
  WebSocketTransportSocketOptions,
} from './transport/web-socket-transport.js';
export { WebSocketTransport } from './transport/web-socket-transport.js';
