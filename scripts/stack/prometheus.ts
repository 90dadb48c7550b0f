import { ensureSystemBinary } from './system-package';

/** The `prometheus` binary (Debian's package "prometheus", installed when missing and we are root); returns its path. */
export function ensurePrometheus(log: (msg: string) => void = console.log): string {
  return ensureSystemBinary('prometheus', 'prometheus', log);
}

if (require.main === module) console.log(ensurePrometheus());
