import { ensureSystemBinary } from './system-package';

/** The `nginx` binary (Debian's package "nginx", installed when missing and we are root); returns its path. */
export function ensureNginx(log: (msg: string) => void = console.log): string {
  return ensureSystemBinary('nginx', 'nginx', log);
}

if (require.main === module) console.log(ensureNginx());
