/** Largest gRPC message a node sends or accepts: a hand-off batch, or one object alone, must fit. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Room a cached object's URL, headers and policy take in a message, besides its body. */
export const OBJECT_ENVELOPE_BYTES = 1024 * 1024;
