import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { thrown } from '../support/thrown';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, dataPaths, loadConfig } from '../../platform/config';

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'test' }] };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An environment that needs no files: a fresh data dir and an inline JWKS. */
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ DATA_DIR: dir, AUTH_JWKS: JSON.stringify(JWKS), ...extra });

const configError = (fn: () => unknown) => thrown(ConfigError, fn);

describe('defaults', () => {
  test('an otherwise empty environment gets the documented defaults', () => {
    const config = loadConfig(env());
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATA_DIR: dir,
      PG_PORT: 55432,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      AUTH_ISSUER: 'tollgate-dev',
      AUTH_AUDIENCE: 'tollgate',
      AUTH_ALGORITHMS: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
      RATE_LIMIT_USER: 100,
      RATE_LIMIT_TENANT: 1000,
      RATE_LIMIT_WINDOW: 1000,
      LOG_LEVEL: 'info',
      CHANGE_REVIEW_DEADLINE: 24 * 3_600_000,
      CHANGE_CAB_QUORUM: 1,
      AUTH_JWKS: JWKS,
    });
    expect(config.AUTH_JWKS_URL).toBeUndefined();
    expect(config.EVIDENCE_SIGNING_KEY).toBeUndefined();
  });

  test('without DATABASE_URL, the private cluster in DATA_DIR is used', () => {
    expect(loadConfig(env()).DATABASE_URL).toBe('postgres://tollgate@127.0.0.1:55432/tollgate');
    expect(loadConfig(env({ PG_PORT: '6543', DATABASE_URL: '' })).DATABASE_URL).toBe('postgres://tollgate@127.0.0.1:6543/tollgate');
  });

  test("the private cluster's password is read from DATA_DIR and URL-encoded", () => {
    writeFileSync(dataPaths(dir).postgresPassword, 'p@ss/word:1\n');
    expect(loadConfig(env()).DATABASE_URL).toBe('postgres://tollgate:p%40ss%2Fword%3A1@127.0.0.1:55432/tollgate');
  });

  test('an explicit DATABASE_URL wins', () => {
    expect(loadConfig(env({ DATABASE_URL: 'postgres://app:secret@db.internal:5432/tollgate' })).DATABASE_URL).toBe('postgres://app:secret@db.internal:5432/tollgate');
  });

  test('DATA_DIR is made absolute', () => {
    expect(path.isAbsolute(loadConfig(env({ DATA_DIR: 'relative/data' })).DATA_DIR)).toBe(true);
  });
});

describe('values', () => {
  test.each([
    ['3s', 3_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1500', 1_500],
  ])('CHANGE_REVIEW_DEADLINE %s → %d ms', (value, ms) => {
    expect(loadConfig(env({ CHANGE_REVIEW_DEADLINE: value })).CHANGE_REVIEW_DEADLINE).toBe(ms);
  });

  test('RATE_LIMIT_WINDOW is a duration too', () => {
    expect(loadConfig(env({ RATE_LIMIT_WINDOW: '250ms' })).RATE_LIMIT_WINDOW).toBe(250);
  });

  test('numbers are coerced from strings', () => {
    expect(loadConfig(env({ PORT: '8080', CHANGE_CAB_QUORUM: '3', RATE_LIMIT_USER: '5' }))).toMatchObject({ PORT: 8080, CHANGE_CAB_QUORUM: 3, RATE_LIMIT_USER: 5 });
  });

  test('AUTH_ALGORITHMS is a trimmed comma list of asymmetric algorithms', () => {
    expect(loadConfig(env({ AUTH_ALGORITHMS: ' ES256 , EdDSA ,' })).AUTH_ALGORITHMS).toEqual(['ES256', 'EdDSA']);
  });

  test('an inline AUTH_JWKS is parsed', () => {
    expect(loadConfig(env()).AUTH_JWKS).toEqual(JWKS);
  });

  test('with AUTH_JWKS_URL and no inline set, no JWKS is loaded', () => {
    const config = loadConfig({ DATA_DIR: dir, AUTH_JWKS_URL: 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json' });
    expect(config.AUTH_JWKS).toBeUndefined();
    expect(config.AUTH_JWKS_URL).toBe('https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json');
  });

  test('with neither, the dev JWKS in DATA_DIR is used when present', () => {
    expect(loadConfig({ DATA_DIR: dir }).AUTH_JWKS).toBeUndefined();
    mkdirSync(dataPaths(dir).keys, { recursive: true });
    writeFileSync(dataPaths(dir).authJwks, JSON.stringify(JWKS));
    expect(loadConfig({ DATA_DIR: dir, AUTH_JWKS: '' }).AUTH_JWKS).toEqual(JWKS);
  });
});

describe('errors', () => {
  test('a bad PORT stops start-up with one line naming it', () => {
    const err = configError(() => loadConfig(env({ PORT: 'abc' })));
    expect(err.name).toBe('ConfigError');
    expect(err.message.startsWith('Configuration error: PORT')).toBe(true);
    expect(err.message).toContain('"abc"');
    expect(err.message).not.toContain('\n');
  });

  test.each(['70000', '-1', '80.5'])('PORT %s is out of range or not an integer', (value) => {
    expect(configError(() => loadConfig(env({ PORT: value }))).message).toMatch(/^Configuration error: PORT /);
  });

  // An empty variable (e.g. `PORT=` in an env file) means "unset" elsewhere in this config (DATABASE_URL, AUTH_JWKS); it must not become port 0.
  test('an empty PORT falls back to the default or is refused, never port 0', () => {
    let port: number | undefined;
    try {
      port = loadConfig(env({ PORT: '' })).PORT;
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return;
    }
    expect(port).toBe(3000);
  });

  test.each(['HS256', 'RS256,HS256', 'none', ','])('AUTH_ALGORITHMS %j is refused', (value) => {
    const err = configError(() => loadConfig(env({ AUTH_ALGORITHMS: value })));
    expect(err.message).toMatch(/^Configuration error: AUTH_ALGORITHMS only asymmetric algorithms are allowed/);
    expect(err.message).not.toContain('\n');
  });

  test('the refused algorithm is named', () => {
    expect(configError(() => loadConfig(env({ AUTH_ALGORITHMS: 'RS256,HS256' }))).message).toMatch(/got HS256$/);
  });

  test.each([
    ['not JSON', '{keys'],
    ['no keys array', '{"key": []}'],
    ['keys not an array', '{"keys": {}}'],
    ['JSON null', 'null'],
  ])('AUTH_JWKS that is %s is refused', (_what, value) => {
    const err = configError(() => loadConfig({ DATA_DIR: dir, AUTH_JWKS: value }));
    expect(err.message).toMatch(/^Configuration error: AUTH_JWKS must be a JSON Web Key Set/);
    expect(err.message).not.toContain('\n');
  });

  test('a bad duration is refused and quoted once', () => {
    const err = configError(() => loadConfig(env({ CHANGE_REVIEW_DEADLINE: 'soon' })));
    expect(err.message).toBe('Configuration error: CHANGE_REVIEW_DEADLINE must be a duration such as 90s, 15m, 24h (got "soon")');
  });

  test.each([
    ['DATABASE_URL', 'not a url'],
    ['AUTH_JWKS_URL', 'jwks.json'],
    ['LOG_LEVEL', 'verbose'],
    ['CHANGE_CAB_QUORUM', '0'],
    ['RATE_LIMIT_USER', 'lots'],
    ['TEMPORAL_NAMESPACE', ''],
  ])('%s=%j is refused, naming the variable', (name, value) => {
    const err = configError(() => loadConfig(env({ [name]: value })));
    expect(err.message.startsWith(`Configuration error: ${name} `)).toBe(true);
    expect(err.message).not.toContain('\n');
  });
});

describe('WORKFLOW_BUNDLE', () => {
  test('unset by default (the worker bundles from source); a file that exists is taken', () => {
    expect(loadConfig(env()).WORKFLOW_BUNDLE).toBeUndefined();
    expect(loadConfig(env({ WORKFLOW_BUNDLE: __filename })).WORKFLOW_BUNDLE).toBe(__filename);
  });

  test('a path that names no file stops the start with one line saying how to build it', () => {
    const err = configError(() => loadConfig(env({ WORKFLOW_BUNDLE: path.join(dir, 'missing-bundle.js') })));
    expect(err.message).toMatch(/^Configuration error: WORKFLOW_BUNDLE names no file .*npm run build/);
  });
});

describe('bulk records budget', () => {
  test('1000 records a minute by default, configurable', () => {
    expect(loadConfig(env())).toMatchObject({ RATE_LIMIT_BULK_RECORDS: 1000, RATE_LIMIT_BULK_WINDOW: 60_000 });
    expect(loadConfig(env({ RATE_LIMIT_BULK_RECORDS: '50', RATE_LIMIT_BULK_WINDOW: '1h' }))).toMatchObject({ RATE_LIMIT_BULK_RECORDS: 50, RATE_LIMIT_BULK_WINDOW: 3_600_000 });
  });
});

describe('HTTP server timeouts', () => {
  test('default to 10s for headers and 30s for the whole request', () => {
    expect(loadConfig(env())).toMatchObject({ HTTP_HEADERS_TIMEOUT: 10_000, HTTP_REQUEST_TIMEOUT: 30_000 });
    expect(loadConfig(env({ HTTP_HEADERS_TIMEOUT: '2s', HTTP_REQUEST_TIMEOUT: '1m' }))).toMatchObject({ HTTP_HEADERS_TIMEOUT: 2_000, HTTP_REQUEST_TIMEOUT: 60_000 });
  });

  test('headers may not be given longer than the request they belong to', () => {
    const err = configError(() => loadConfig(env({ HTTP_HEADERS_TIMEOUT: '40s' })));
    expect(err.message).toBe('Configuration error: HTTP_HEADERS_TIMEOUT must not exceed HTTP_REQUEST_TIMEOUT (the headers are part of the request)');
  });
});
