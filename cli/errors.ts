/** A command line the CLI cannot act on: exit 2 with the usage text. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** The API refused or failed: exit 1 with the envelope's code and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The command ran but its outcome is not the one asked for (a wait that ended elsewhere, a failed run): exit 1. */
export class Outcome extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
