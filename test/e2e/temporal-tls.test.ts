import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Connection } from '@temporalio/client';
import { ConfigError } from '../../platform/config';
import { connectionOptions, temporalConnection } from '../../platform/temporal-connection';
import { startTestApp, type TestApp } from '../support/app';
import { testEnv } from '../support/env';
import { eventually } from '../support/eventually';

/**
 * A real cluster speaks TLS, usually mTLS. The dev server cannot, so a TLS
 * terminator stands in front of it here, as an ingress would: it demands a
 * client certificate signed by the test CA and passes the bytes through to the
 * dev server. The API, the orchestrator worker and the agent work relay all
 * reach Temporal through it with TEMPORAL_TLS_* set, and a connection without
 * the client certificate is refused.
 */
let dir: string;
let proxy: tls.Server;
let proxyAddress: string;
const clientsSeen: string[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function certificate(name: string, cn: string, extensions: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tollgate-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tollgate-test-ca');
  certificate('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  certificate('client', 'tollgate-orchestrator', 'extendedKeyUsage=clientAuth\n');
  const [host, port] = testEnv.temporalAddress.split(':');
  const read = (f: string) => readFileSync(path.join(dir, f));
  proxy = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (socket) => {
    clientsSeen.push(String(socket.getPeerCertificate().subject?.CN));
    const upstream = net.connect(Number(port), host);
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end);
    upstream.on('error', end);
    socket.on('close', end);
    upstream.on('close', end);
  });
  proxy.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyAddress = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const files = () => ({
  TEMPORAL_TLS_CA_FILE: path.join(dir, 'ca.pem'),
  TEMPORAL_TLS_CERT_FILE: path.join(dir, 'client.pem'),
  TEMPORAL_TLS_KEY_FILE: path.join(dir, 'client.key'),
  TEMPORAL_TLS_SERVER_NAME: 'localhost',
});

test('the API and the orchestrator worker run a change lifecycle through mTLS', async () => {
  let app: TestApp | undefined;
  try {
    app = await startTestApp({ env: { TEMPORAL_ADDRESS: proxyAddress, ...files() } });
    const token = await app.token('requester@example.com', { roles: ['requester'] });
    const created = await app.http('POST', '/prod/api/changes', {
      token,
      body: { short_description: 'Rotate TLS certificates', type: 'normal', description: 'through mTLS' },
    });
    expect(created.status).toBe(201);
    // Written by the worker's persistence activity: the whole path ran through the terminator.
    await eventually(async () => {
      const { rows } = await app!.pool.query('SELECT state FROM changes WHERE tenant_id = $1 AND id = $2', [app!.tenant, created.body.id]);
      expect(rows[0]?.state).toBe('draft');
    });
    expect((await app.http('GET', '/api/v1/health')).body.data.checks.temporal.status).toBe('up');
    expect(clientsSeen.length).toBeGreaterThan(0);
    expect(new Set(clientsSeen)).toEqual(new Set(['tollgate-orchestrator']));
  } finally {
    await app?.close();
  }
});

test('without the client certificate the cluster refuses the connection', async () => {
  const settings = temporalConnection({ TEMPORAL_ADDRESS: proxyAddress, TEMPORAL_TLS_CA_FILE: files().TEMPORAL_TLS_CA_FILE, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
  await expect(
    (async () => {
      const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '3s' });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
    })(),
  ).rejects.toThrow();
});

test('TLS settings are checked at start-up, one line naming what is wrong', () => {
  const base = { TEMPORAL_ADDRESS: proxyAddress };
  expect(() => temporalConnection({ ...base, TEMPORAL_TLS_CERT_FILE: files().TEMPORAL_TLS_CERT_FILE })).toThrow(/TEMPORAL_TLS_KEY_FILE is required with TEMPORAL_TLS_CERT_FILE/);
  expect(() => temporalConnection({ ...base, TEMPORAL_TLS_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(ConfigError);
  expect(() => temporalConnection({ ...base, TEMPORAL_TLS_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(/TEMPORAL_TLS_CA_FILE cannot be read \(ENOENT/);
  expect(() => temporalConnection({ ...base, TEMPORAL_TLS_CA_FILE: path.join(dir, 'client.key') })).toThrow(/TEMPORAL_TLS_CA_FILE must be a PEM file holding a CERTIFICATE/);
  expect(() => temporalConnection({ ...base, TEMPORAL_TLS: false, TEMPORAL_TLS_CA_FILE: files().TEMPORAL_TLS_CA_FILE })).toThrow(/TEMPORAL_TLS is false/);
  // An API key (Temporal Cloud) means TLS, with the system's trust store when no CA is named.
  expect(temporalConnection({ ...base, TEMPORAL_API_KEY: 'key' })).toEqual({ address: proxyAddress, tls: {}, apiKey: 'key' });
  expect(temporalConnection(base)).toEqual({ address: proxyAddress });
});
