import { LEVELS, PRIORITIES, type Level, type Priority } from './model';

/**
 * Priority from impact × urgency, the ITIL way: rows are impact, columns
 * urgency. Configurable (INCIDENT_PRIORITY_MATRIX); an explicit priority in a
 * request always wins, and without both impact and urgency the default is P3.
 */
export type PriorityMatrix = Readonly<Record<Level, Readonly<Record<Level, Priority>>>>;

export const DEFAULT_PRIORITY_MATRIX: PriorityMatrix = {
  high: { high: 'P1', medium: 'P2', low: 'P3' },
  medium: { high: 'P2', medium: 'P3', low: 'P4' },
  low: { high: 'P3', medium: 'P4', low: 'P4' },
};

export const DEFAULT_PRIORITY: Priority = 'P3';

export function priorityFor(impact: Level | null | undefined, urgency: Level | null | undefined, matrix: PriorityMatrix = DEFAULT_PRIORITY_MATRIX): Priority {
  if (!impact || !urgency) return DEFAULT_PRIORITY;
  return matrix[impact][urgency];
}

/**
 * Reads "high/high=P1,high/medium=P2,…" (impact/urgency=priority). Cells not
 * named keep the default; undefined when the text does not parse.
 */
export function parsePriorityMatrix(text: string): PriorityMatrix | undefined {
  const matrix: Record<Level, Record<Level, Priority>> = {
    high: { ...DEFAULT_PRIORITY_MATRIX.high },
    medium: { ...DEFAULT_PRIORITY_MATRIX.medium },
    low: { ...DEFAULT_PRIORITY_MATRIX.low },
  };
  const cells = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (cells.length === 0) return undefined;
  for (const cell of cells) {
    const match = /^(\w+)\s*\/\s*(\w+)\s*=\s*(\w+)$/.exec(cell);
    if (!match) return undefined;
    const [, impact, urgency, priority] = match.map((s) => s.toLowerCase());
    const p = priority.toUpperCase() as Priority;
    if (!isLevel(impact) || !isLevel(urgency) || !PRIORITIES.includes(p)) return undefined;
    matrix[impact][urgency] = p;
  }
  return matrix;
}

function isLevel(v: string): v is Level {
  return (LEVELS as readonly string[]).includes(v);
}
