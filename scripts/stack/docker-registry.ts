import { ensureSystemBinary } from './system-package';

/** The OCI registry server (Debian's package "docker-registry", distribution 2.8, installed when missing and we are root); returns its path. */
export function ensureDockerRegistry(log: (msg: string) => void = console.log): string {
  return ensureSystemBinary('docker-registry', 'docker-registry', log);
}

if (require.main === module) console.log(ensureDockerRegistry());
