import { failedReadmeLine, lastBlockStarted, readmeBlocks, runnableSections, sectionScript } from '../support/readme-blocks';

/** How the README test reads the README: which blocks run, which are skipped and why, and how a failure is placed. */
const README = [
  '# Title', //                                        1
  '## Quick start', //                                 2
  '<!-- readme-test: skip (starts the stack) -->', //  3
  '```sh', //                                          4
  'npm start', //                                      5
  '```', //                                            6
  '## Try it', //                                      7
  '```bash', //                                        8
  'A=1', //                                            9
  '```', //                                           10
  '```', //                                           11
  'not shell: an architecture sketch', //             12
  '```', //                                           13
  '```sh', //                                         14
  'echo $A', //                                       15
  '```', //                                           16
].join('\n');

test('every sh/bash fence is a block under its heading; a skip marker right before one says why it does not run', () => {
  const { blocks, problems } = readmeBlocks(README);
  expect(problems).toEqual([]);
  expect(blocks.map((b) => [b.section, b.line, b.skip])).toEqual([
    ['Quick start', 4, 'starts the stack'],
    ['Try it', 8, undefined],
    ['Try it', 14, undefined],
  ]);
  expect(runnableSections(blocks)).toEqual([{ section: 'Try it', blocks: [blocks[1], blocks[2]] }]);
});

test('a marker without a reason, or not right before a shell block, is a problem with its line', () => {
  const bad = ['## A', '<!-- readme-test: skip -->', '```sh', 'x', '```', '<!-- readme-test: skip (why) -->', 'text', '```sh', 'y', '```'].join('\n');
  expect(readmeBlocks(bad).problems).toEqual([
    { line: 2, problem: expect.stringContaining('must read') },
    { line: 6, problem: expect.stringContaining('right before') },
  ]);
  // Prose that mentions the marker is not one.
  expect(readmeBlocks('Blocks carry a `<!-- readme-test: skip (…) -->` comment.').problems).toEqual([]);
});

test('a failure is placed on the last block that announced itself in the output', () => {
  const { blocks } = readmeBlocks(README);
  const [first, second] = runnableSections(blocks)[0].blocks;
  const { script, readmeLines } = sectionScript([first, second]);
  expect(script.indexOf('A=1')).toBeLessThan(script.indexOf('echo $A'));
  // The shell names the script's line of a failed command; it maps back to the README's.
  const scriptLine = script.split('\n').indexOf('echo $A') + 1;
  expect(failedReadmeLine(`boom\n::readme-failed-at ${scriptLine}::\n`, readmeLines)).toBe(15);
  expect(failedReadmeLine('boom', readmeLines)).toBeUndefined();
  expect(lastBlockStarted('::readme-block line 8::\nok\n::readme-block line 14::\nboom', [first, second])).toBe(second);
  expect(lastBlockStarted('::readme-block line 8::\nboom', [first, second])).toBe(first);
});
