import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../platform/logger';
import { dialectOf } from './context';
import { ApiError } from './errors';
import { errorBody } from './respond';

/**
 * What happens to a connection below the app: answers given before the
 * request's body arrived, and requests too slow to arrive at all.
 *
 * An early answer (413, 415, 401, … before the body is read) cannot promise
 * keep-alive: the rest of the body is still on the wire, and draining it in
 * the background and then cutting the socket resets the client's next pooled
 * request. Such an answer says `Connection: close`, and the socket lingers
 * (reads and drops what the client still sends) until the client closes its
 * side or `lingerMs` passes, so the client reads the answer and no reset
 * follows.
 *
 * A request whose headers or whole message do not arrive within the server's
 * timeouts gets a 408 (a malformed one a 400, oversized headers a 431) in the
 * API's error envelope instead of Node's bare status line.
 */
export function guardConnections(server: Server, options: { lingerMs: number; log: Logger }): void {
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    remember(req.socket, req.url);
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      if (!req.complete && !this.headersSent) {
        this.setHeader('Connection', 'close');
        lingerOnClose(req.socket, options.lingerMs);
      }
      return writeHead.apply(this, args);
    } as ServerResponse['writeHead'];
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (answered.has(socket) || !socket.writable) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (inFlight?.headersSent) {
      // Part of an answer is already out: nothing more can be said on this connection.
      socket.destroy();
      return;
    }
    const error = clientErrorOf(err);
    const requestId = randomUUID();
    const path = lastUrl.get(socket) ?? '/';
    const body = JSON.stringify(errorBody(dialectOf(path), error, requestId));
    options.log.info({ requestId, path, status: error.status, code: err.code }, 'client error');
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
    lingerOnClose(socket, options.lingerMs);
    socket.destroySoon();
  });
}

const answered = new WeakSet<Socket>();
const lastUrl = new WeakMap<Socket, string>();
const lingering = new WeakSet<Socket>();

function remember(socket: Socket, url: string | undefined): void {
  if (url) lastUrl.set(socket, url.split('?')[0]);
}

function clientErrorOf(err: NodeJS.ErrnoException): ApiError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(408, 'REQUEST_TIMEOUT', 'The request (headers and body) did not arrive in time; the connection is closed');
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(431, 'HEADERS_TOO_LARGE', 'The request headers are too large');
    default:
      return new ApiError(400, 'MALFORMED_REQUEST', 'The request is not valid HTTP');
  }
}

/**
 * Node closes a `Connection: close` socket with destroySoon(): once the
 * answer is flushed the socket is destroyed, and whatever the client still
 * sends is answered with a reset that can cost the client the answer itself.
 * Instead: send FIN after the answer, keep reading (the HTTP parser drops the
 * rest of the body), and destroy when the client closes or the time is up.
 */
function lingerOnClose(socket: Socket, lingerMs: number): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  let closing = false;
  socket.destroySoon = function (this: Socket) {
    if (closing) return;
    closing = true;
    this.end();
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    // Whatever still arrives is read and dropped, so the client's sends never meet a closed socket.
    this.resume();
  };
}
