/**
 * Version of the EnclaveJS wire protocol carried in every event envelope and runtime-channel
 * handshake. Peers reject a major version they do not speak; minor additions are tolerated.
 */
export const PROTOCOL_VERSION = '1.0' as const;

/** The protocol version string type. */
export type ProtocolVersion = typeof PROTOCOL_VERSION;
