/** The error of class `type` that `fn` throws; fails the test if it throws nothing or something else. */
export function thrown<E extends Error>(type: new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}
