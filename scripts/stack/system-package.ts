import { locateBinary } from '../../agent/traffic/binaries';
import { isRoot, run, which } from './processes';

/**
 * A binary from the system's packages, the way Postgres is found (postgres.ts): on PATH or in /usr/sbin, else
 * Debian's package installed with apt-get when we are root, else an error naming the package to install.
 */
export function ensureSystemBinary(binary: string, aptPackage: string, log: (msg: string) => void = console.log): string {
  const found = locateBinary(binary);
  if (found) return found;
  if (isRoot() && which('apt-get')) {
    log(`${binary} not found; installing Debian package "${aptPackage}"…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-q'], { env });
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', aptPackage], { env });
    const installed = locateBinary(binary);
    if (installed) return installed;
  }
  throw new Error(`${binary} was not found on PATH or in /usr/sbin. Install it (Debian/Ubuntu: apt-get install ${aptPackage}; macOS: brew install ${aptPackage}) or pass its path.`);
}

