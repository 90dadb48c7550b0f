import { ensureSystemBinary } from './system-package';

/** The `haproxy` binary (Debian's package "haproxy", installed when missing and we are root); returns its path. */
export function ensureHaproxy(log: (msg: string) => void = console.log): string {
  return ensureSystemBinary('haproxy', 'haproxy', log);
}

if (require.main === module) console.log(ensureHaproxy());
