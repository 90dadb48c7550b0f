/**
 * "Did you mean …?" for a field a request body does not have: the schema's own
 * keys at that path, ranked by edit distance. Pure; knows zod only through
 * each schema's `_zod.def`, so it works for every schema without listing fields.
 */

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Case and separators are the commonest slips (assignedTo, assigned-to); they cost nothing. */
const normalise = (field: string) => field.toLowerCase().replace(/[_\-\s]/g, '');

/**
 * The candidate nearest to `word`, if it is close enough to be a likely slip:
 * at most a third of the word's length away (at least one edit). Ties go to the
 * candidate listed first, i.e. the schema's own order.
 */
export function nearestField(word: string, candidates: readonly string[]): string | undefined {
  const target = normalise(word);
  const allowed = Math.max(1, Math.floor(target.length / 3));
  let best: { field: string; distance: number } | undefined;
  for (const field of candidates) {
    if (field === word) continue;
    const distance = editDistance(target, normalise(field));
    if (distance <= allowed && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
}

const defOf = (schema: unknown): Def | undefined => (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** The keys an object schema accepts at `path` (an issue's path), looking through optional, nullable, defaults, transforms and arrays. */
export function fieldsAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let def = defOf(schema);
  let i = 0;
  while (def) {
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'nonoptional':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
        def = defOf(def.innerType);
        break;
      case 'pipe':
        def = defOf(def.in);
        break;
      case 'object':
        if (i === path.length) return Object.keys(def.shape ?? {});
        def = defOf(def.shape?.[String(path[i++])]);
        break;
      case 'array':
        if (i === path.length) return [];
        i++;
        def = defOf(def.element);
        break;
      default:
        return [];
    }
  }
  return [];
}
