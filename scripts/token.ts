import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { ConfigError, dataPaths, loadConfig } from '../platform/config';
import { mintToken } from '../platform/dev-keys';
import { parseDuration } from '../domain/duration';
import { chooseLocalDataDir } from './stack/data-dir';

/**
 * Prints a bearer token signed by the local dev key that `npm start` trusts:
 *   npm run -s token -- --user alice@example.com --tenant acme --roles release-manager
 * The key is the running stack's (found through its record, see stack/registry.ts)
 * unless DATA_DIR says otherwise; it never creates a key, since a stack would not
 * trust it. Which key it used goes to stderr, the token alone to stdout.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      tenant: { type: 'string' },
      roles: { type: 'string', default: '' },
      permissions: { type: 'string', default: '' },
      email: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '8h' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.user || !values.tenant) {
    console.error(
      'usage: npm run -s token -- --user <id or email> --tenant <tenant> [--roles a,b] [--permissions p,q] [--email e] [--name n] [--ttl 8h]\n' +
        'roles: viewer, requester, developer, engineer, change-manager, cab-member, approver, release-manager, sre, itsm_manager, auditor, admin',
    );
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfig();
  const choice = chooseLocalDataDir(config, (p) => p.authPrivateKey);
  if ('error' in choice) throw new ConfigError(choice.error);
  const keyFile = dataPaths(choice.dataDir).authPrivateKey;
  const authKey: JWK = JSON.parse(readFileSync(keyFile, 'utf8'));
  const shown = keyFile.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), keyFile) : keyFile;
  console.error(`token: signed with ${shown} (${choice.reason})`);
  const ttlMs = parseDuration(values.ttl!);
  if (!ttlMs) throw new ConfigError(`--ttl must be a duration such as 30m or 8h (got "${values.ttl}")`);
  const list = (v?: string) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const token = await mintToken(authKey, {
    user: values.user,
    tenant: values.tenant,
    roles: list(values.roles),
    permissions: list(values.permissions),
    email: values.email ?? (values.user.includes('@') ? values.user : undefined),
    name: values.name,
    ttlSeconds: Math.round(ttlMs / 1000),
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : (err as Error).message);
  process.exit(1);
});
