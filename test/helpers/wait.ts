// Waiting for a condition in a test. The deadline is generous on purpose: a busy machine makes
// everything slower, and the deadline only ends a test that would never pass. How fast something
// happens is measured in bench/, not asserted here.

/**
 * Polls `check` every `everyMs` until it returns something other than undefined or false, and
 * returns that; throws naming `what` after `ms`.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 30_000,
  what = 'condition',
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
