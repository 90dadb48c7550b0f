import { ApiError } from '../errors';

/**
 * A live stream may stay open for days; the credential that opened it may not
 * stay good that long. An agent's credential ends when the agent is revoked or
 * deleted, a JWT at its exp. The stream asks again every few seconds (one
 * lookup per stream: the same the agent's own requests cost) and once more at
 * exp, and ends itself the moment the answer is no.
 */
export const CREDENTIAL_RECHECK_MS = 5_000;

/** WebSocket close reasons are at most 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

export interface StreamCredential {
  /** Epoch ms after which the credential is no good whatever a recheck says (a JWT's exp); null: none. */
  expiresAt: number | null;
  /** Resolves while the credential is still good; rejects with the refusal (a 401 ApiError) once it is not. */
  recheck(): Promise<void>;
}

export interface CredentialWatchOptions {
  intervalMs?: number;
  /** The credential ended: the reason as a WebSocket close reason. Called at most once. */
  onEnded(reason: string): void;
  /** A recheck that failed for another reason (the database briefly down): the stream stays open. */
  onRecheckFailed?(err: unknown): void;
}

/** Starts watching; the function returned stops it. */
export function watchCredential(credential: StreamCredential, options: CredentialWatchOptions): () => void {
  let ended = false;
  let checking = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    stop();
    options.onEnded(closeReason(reason));
  };
  const check = () => {
    if (ended || checking) return;
    if (credential.expiresAt !== null && Date.now() >= credential.expiresAt) return end('TOKEN_EXPIRED: the token that opened this stream has expired');
    checking = true;
    credential.recheck().then(
      () => (checking = false),
      (err) => {
        checking = false;
        if (err instanceof ApiError && err.status === 401) end(`${err.code}: ${err.message}`);
        else options.onRecheckFailed?.(err);
      },
    );
  };
  const interval = setInterval(check, options.intervalMs ?? CREDENTIAL_RECHECK_MS);
  interval.unref();
  let atExpiry: NodeJS.Timeout | undefined;
  if (credential.expiresAt !== null) {
    // setTimeout holds at most 2^31-1 ms (about 24 days); the interval covers anything later.
    const wait = credential.expiresAt - Date.now();
    if (wait <= 2 ** 31 - 1) {
      atExpiry = setTimeout(check, Math.max(0, wait) + 5);
      atExpiry.unref();
    }
  }
  function stop() {
    clearInterval(interval);
    clearTimeout(atExpiry);
  }
  return () => {
    ended = true;
    stop();
  };
}

export function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_REASON_BYTES) return text;
  // Cut on a character boundary, with an ellipsis saying so.
  let cut = bytes.subarray(0, MAX_REASON_BYTES - 3).toString('utf8');
  while (Buffer.byteLength(`${cut}…`) > MAX_REASON_BYTES) cut = cut.slice(0, -1);
  return `${cut.replace(/\uFFFD$/, '')}…`;
}
