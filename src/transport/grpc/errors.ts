import * as grpc from '@grpc/grpc-js';
import { DhtError, ERROR_CODES, errorCode, type ErrorCode } from '../../errors.js';

/** Metadata key that carries our error code across the wire, so callers see the exact code. */
const CODE_KEY = 'x-dht-error-code';

export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const code = errorCode(err);
  const metadata = new grpc.Metadata();
  metadata.set(CODE_KEY, code);
  return { code: ERROR_CODES[code].grpc, details: err instanceof Error ? err.message : String(err), metadata };
}

const BY_STATUS: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.DEADLINE_EXCEEDED]: 'ERR_TIMEOUT',
  [grpc.status.UNAVAILABLE]: 'ERR_UNREACHABLE',
  [grpc.status.CANCELLED]: 'ERR_ABORTED',
  [grpc.status.NOT_FOUND]: 'ERR_NOT_FOUND',
  [grpc.status.INVALID_ARGUMENT]: 'ERR_INVALID_ARGUMENT',
};

export function fromServiceError(err: grpc.ServiceError, context: string): DhtError {
  const sent = err.metadata?.get(CODE_KEY)[0];
  const code = typeof sent === 'string' && sent in ERROR_CODES ? (sent as ErrorCode) : (BY_STATUS[err.code] ?? 'ERR_INTERNAL');
  return new DhtError(code, `${context}: ${err.details || err.message}`, { cause: err });
}
