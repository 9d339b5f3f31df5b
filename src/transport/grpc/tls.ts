import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions, type SecureContextOptions, type TlsOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from './protos.js';

/** Paths of the PEM files of mutual TLS; all empty = plaintext. */
export interface TlsFiles {
  /** The CA that signs every node and client certificate: the cluster's trust boundary. */
  readonly ca: string;
  /** This process's certificate (chain), signed by that CA. */
  readonly cert: string;
  /** Its private key. */
  readonly key: string;
}

/** What to call each file in an error message: the setting or the command-line flag that gave it. */
export type TlsFileNames = TlsFiles;

/** The PEM material, in the shape `tls.createSecureContext` and `https.Agent` take. */
export interface TlsMaterial extends SecureContextOptions {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Raised when the files cannot give mutual TLS: each problem names the setting or flag. */
export class TlsFilesError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'TlsFilesError';
  }
}

const PARTS = ['ca', 'cert', 'key'] as const;

/**
 * Mutual TLS needs all three files and plaintext none: a half-configured node would otherwise
 * run plaintext (or fail at its first call) while its operator believes it is protected.
 */
export function tlsFilesProblem(files: TlsFiles, names: TlsFileNames): string | undefined {
  const given = PARTS.filter((part) => files[part] !== '');
  if (given.length === 0 || given.length === PARTS.length) return undefined;
  const missing = PARTS.filter((part) => files[part] === '');
  return `${given.map((p) => names[p]).join(' and ')} set but ${missing.map((p) => names[p]).join(' and ')} empty: mutual TLS needs all of ${PARTS.map((p) => names[p]).join(', ')} (or none of them for plaintext)`;
}

/**
 * Reads the PEM files once, at start, and checks that they make a usable TLS context (PEM that
 * parses, a key that matches the certificate), so that a bad file stops the process with its
 * name instead of failing every later handshake. Undefined when no file is given (plaintext).
 */
export function readTlsMaterial(files: TlsFiles, names: TlsFileNames): TlsMaterial | undefined {
  const problem = tlsFilesProblem(files, names);
  if (problem) throw new TlsFilesError([problem]);
  if (files.ca === '') return undefined;
  const problems: string[] = [];
  const read = (part: (typeof PARTS)[number]): Buffer => {
    try {
      return readFileSync(files[part]);
    } catch (err) {
      problems.push(`${names[part]}=${JSON.stringify(files[part])}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return Buffer.alloc(0);
    }
  };
  const material: TlsMaterial = { ca: read('ca'), cert: read('cert'), key: read('key') };
  if (problems.length) throw new TlsFilesError(problems);
  try {
    createSecureContext(material);
  } catch (err) {
    throw new TlsFilesError([`${names.ca}, ${names.cert}, ${names.key}: not a usable CA, certificate and matching private key in PEM (${(err as Error).message})`]);
  }
  return material;
}

/**
 * Peers are addressed by host:port as they advertise themselves: a pod IP in EKS, 127.0.0.1
 * locally, or a load balancer's name for a client. None of these is known when the certificate
 * is made, so the host name is not matched against the certificate's SANs; what identifies a
 * cluster member is a certificate chain to the cluster's own CA, which the TLS handshake checks
 * (and the server does the same for the client's certificate).
 */
const acceptAnyNameSignedByTheCa = (): undefined => undefined;

/**
 * A fixed TLS server name: grpc-js would otherwise send the peer's IP address as SNI, which TLS
 * forbids (Node warns about it). No node selects a certificate by name.
 */
const SERVER_NAME = 'koorde-node';

/**
 * The same rules for a channel that is not gRPC (the peer data channel over HTTPS). The client
 * presents the node certificate and accepts any server certificate that chains to the CA.
 */
export function httpsClientOptions(m: TlsMaterial): ConnectionOptions {
  return { ca: m.ca, cert: m.cert, key: m.key, servername: SERVER_NAME, checkServerIdentity: acceptAnyNameSignedByTheCa, rejectUnauthorized: true };
}

/** The server refuses, in the handshake, a client without a certificate signed by the CA. */
export function httpsServerOptions(m: TlsMaterial): TlsOptions {
  return { ca: m.ca, cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: true };
}

/**
 * The one place that turns TLS material (or its absence) into gRPC credentials: the node's
 * server, its node-to-node and cache channels, and the DHT client all take them from here.
 */
export class GrpcCredentials {
  static readonly PLAINTEXT = new GrpcCredentials(undefined);

  private channelCredentials: grpc.ChannelCredentials | undefined;

  constructor(
    /** Undefined = plaintext. Exposed so that a non-gRPC channel (e.g. HTTPS) can use the same CA, cert and key. */
    readonly material: TlsMaterial | undefined,
  ) {}

  get mutualTls(): boolean {
    return this.material !== undefined;
  }

  /** A client of `service` at `addr` (host:port): every gRPC channel of the system is opened here. */
  client(service: grpc.ServiceClientConstructor, addr: string, options: grpc.ChannelOptions = CHANNEL_OPTIONS): grpc.Client {
    return new service(addr, this.channel(), this.material ? { ...options, 'grpc.ssl_target_name_override': SERVER_NAME } : options);
  }

  /** One instance for every channel, so grpc-js can share connections and one secure context. */
  private channel(): grpc.ChannelCredentials {
    if (!this.channelCredentials) {
      const m = this.material;
      this.channelCredentials = m
        ? grpc.credentials.createFromSecureContext(createSecureContext(m), { checkServerIdentity: acceptAnyNameSignedByTheCa })
        : grpc.credentials.createInsecure();
    }
    return this.channelCredentials;
  }

  /** Server side: with TLS on, a client without a certificate signed by the CA is refused in the handshake. */
  server(): grpc.ServerCredentials {
    const m = this.material;
    if (!m) return grpc.ServerCredentials.createInsecure();
    return grpc.ServerCredentials.createSsl(m.ca, [{ cert_chain: m.cert, private_key: m.key }], true);
  }
}
