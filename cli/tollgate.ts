import { GLOBAL_SYNOPSIS, contextFor, usageOf, type Command } from './command';
import { login, whoami } from './commands/auth';
import { evidenceCommands } from './commands/evidence';
import { inbox } from './commands/inbox';
import { promotionCommands } from './commands/promotions';
import { recordCommands } from './commands/records';
import { runCommands } from './commands/runs';
import { ApiFailure, Outcome, UsageError } from './errors';
import { stdout } from './output';

/**
 * tollgate: Tollgate's command line for release engineers and pipelines, a
 * client of the HTTP API only. Exit codes: 0 done, 1 the API refused or failed
 * (its code and message on stderr) or the outcome waited for did not come,
 * 2 a usage error (with the usage).
 */
export const COMMANDS: Command[] = [login, whoami, ...promotionCommands, inbox, ...runCommands, ...evidenceCommands, ...recordCommands];

export function overview(): string {
  const lines = COMMANDS.map((c) => `  ${c.words.join(' ').padEnd(20)} ${c.summary}`);
  return [
    `usage: tollgate <command> [arguments] ${GLOBAL_SYNOPSIS}`,
    '',
    'commands:',
    ...lines,
    '',
    'URL and token: --url/--token, else TOLLGATE_URL/TOLLGATE_TOKEN, else what tollgate login stored.',
    'tollgate <command> --help shows its options. Exit codes: 0 ok, 1 refused or failed, 2 usage error.',
  ].join('\n');
}

function find(argv: string[]): Command | undefined {
  return COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    (argv.length === 0 ? process.stderr : process.stdout).write(`${overview()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const command = find(argv);
  try {
    if (!command) {
      const group = COMMANDS.filter((c) => c.words[0] === argv[0] && c.words.length > 1);
      const known = group.length ? `tollgate ${argv[0]} has: ${group.map((c) => c.words[1]).join(', ')}` : overview();
      throw new UsageError(`unknown command: ${argv.slice(0, group.length ? 2 : 1).join(' ')}`, known);
    }
    const ctx = contextFor(command, argv.slice(command.words.length), stdout);
    if (ctx === 'help') {
      process.stdout.write(`${usageOf(command)}\n`);
      return 0;
    }
    return (await command.run(ctx)) ?? 0;
  } catch (err) {
    return report(err);
  }
}

/** Validation problems one per line (`  field: message`), other details as one line of JSON. */
function detailsText(details: unknown): string {
  const problems = Array.isArray(details) && details.every((d) => d && typeof d === 'object' && 'field' in d && 'message' in d);
  if (problems) return (details as Array<{ field: string; message: string }>).map((d) => `  ${d.field}: ${d.message}\n`).join('');
  return `  details: ${JSON.stringify(details)}\n`;
}

function report(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`tollgate: ${err.message}\n${err.usage ? `${err.usage}\n` : ''}`);
    return 2;
  }
  if (err instanceof ApiFailure) {
    process.stderr.write(`tollgate: ${err.code}: ${err.message}${err.status ? ` (HTTP ${err.status})` : ''}\n`);
    if (err.details !== undefined) process.stderr.write(detailsText(err.details));
    return 1;
  }
  if (err instanceof Outcome) {
    process.stderr.write(`tollgate: ${err.code}: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`tollgate: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`tollgate: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
