import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './processes';

/**
 * The shell blocks of README.md, as a newcomer would paste them. Every fence
 * opened with ```sh or ```bash is a block; one preceded (on the line before,
 * blank lines allowed) by `<!-- readme-test: skip (why) -->` is not run, and
 * says why. The others run in order, one shell per heading (the blocks under
 * one heading may use what the earlier ones set).
 */
export interface ReadmeBlock {
  /** The heading the block sits under, as written (without the #s). */
  section: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
  code: string;
  /** Why the block is not run; undefined when it runs. */
  skip?: string;
}

export interface ReadmeProblem {
  line: number;
  problem: string;
}

export const README = path.join(ROOT, 'README.md');
const SKIP = /^<!--\s*readme-test:\s*skip\s*\((.*)\)\s*-->$/;
const MARKER = /readme-test/;
const SHELL_FENCE = /^```(sh|bash)\s*$/;

export function readmeBlocks(text = readFileSync(README, 'utf8')): { blocks: ReadmeBlock[]; problems: ReadmeProblem[] } {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  const problems: ReadmeProblem[] = [];
  let section = '(top)';
  let pendingSkip: { line: number; reason: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      const shell = SHELL_FENCE.test(line);
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
      if (shell) blocks.push({ section, line: start + 1, code: body.join('\n') + '\n', skip: pendingSkip?.reason });
      else if (pendingSkip) problems.push({ line: pendingSkip.line, problem: 'a skip marker before a block that is not ```sh or ```bash' });
      pendingSkip = undefined;
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) section = heading[1].trim();
    if (line.trim().startsWith('<!--') && MARKER.test(line)) {
      const skip = SKIP.exec(line.trim());
      if (!skip || !skip[1].trim()) problems.push({ line: i + 1, problem: 'a readme-test marker must read <!-- readme-test: skip (the reason) -->' });
      else pendingSkip = { line: i + 1, reason: skip[1].trim() };
      continue;
    }
    if (pendingSkip && line.trim() !== '') {
      problems.push({ line: pendingSkip.line, problem: 'a skip marker must come right before a fenced block' });
      pendingSkip = undefined;
    }
  }
  return { blocks, problems };
}

/** The blocks that run, grouped by heading in README order: each group is one shell. */
export function runnableSections(blocks: ReadmeBlock[]): Array<{ section: string; blocks: ReadmeBlock[] }> {
  const groups: Array<{ section: string; blocks: ReadmeBlock[] }> = [];
  for (const block of blocks.filter((b) => b.skip === undefined)) {
    const group = groups.find((g) => g.section === block.section);
    if (group) group.blocks.push(block);
    else groups.push({ section: block.section, blocks: [block] });
  }
  return groups;
}

/** Printed before each block, so the output says which block a failure came from. */
export const blockMark = (line: number) => `::readme-block line ${line}::`;

/** Printed when a command fails, with the script's line: the README line it came from is `readmeLines[line - 1]`. */
export const FAILED_AT = /::readme-failed-at (\d+)::/;

/**
 * One script for a section's blocks: each announces itself, then runs as written. `readmeLines` maps each line of
 * the script to the README line it came from (0 for the lines the script adds).
 */
export function sectionScript(blocks: ReadmeBlock[]): { script: string; readmeLines: number[] } {
  const lines: string[] = [`trap 'echo "::readme-failed-at $LINENO::" >&2' ERR`];
  const readmeLines: number[] = [0];
  for (const b of blocks) {
    lines.push(`echo '${blockMark(b.line)}'`);
    readmeLines.push(0);
    b.code.replace(/\n$/, '').split('\n').forEach((line, i) => {
      lines.push(line);
      readmeLines.push(b.line + 1 + i);
    });
  }
  return { script: lines.join('\n') + '\n', readmeLines };
}

/** The README line of the command that failed, when the shell said which. */
export function failedReadmeLine(output: string, readmeLines: number[]): number | undefined {
  const at = FAILED_AT.exec(output);
  return at ? readmeLines[Number(at[1]) - 1] || undefined : undefined;
}

/** The block (by line) that was running when the shell stopped: the last one that announced itself. */
export function lastBlockStarted(output: string, blocks: ReadmeBlock[]): ReadmeBlock {
  let last = blocks[0];
  for (const b of blocks) if (output.includes(blockMark(b.line))) last = b;
  return last;
}
