/**
 * The one polling wait of the tests: resolves with f()'s first truthy value, checking every `everyMs`;
 * fails naming `what` after `ms`. Tests wait on observed state with it, never on a fixed sleep.
 */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  ms = 10000,
  everyMs = 25,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
