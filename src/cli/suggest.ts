// "Did you mean": the closest known command or topic to what was typed, by edit distance.

/** Levenshtein distance (insert, delete, substitute, each 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate (colon-separated ids like `subscriber:list`) closest to `typed`, or undefined
 * when nothing is close enough to be a plausible typo. A candidate that starts with what was
 * typed ("subscriber:li") counts as close.
 */
export function closestCommand(typed: string, candidates: string[]): string | undefined {
  let best: { id: string; d: number } | undefined;
  for (const id of new Set(candidates)) {
    const d = id.startsWith(typed) && typed.length >= 3 ? 0.5 : editDistance(typed, id);
    if (!best || d < best.d || (d === best.d && id.length < best.id.length)) best = { id, d };
  }
  if (!best) return undefined;
  const allowed = Math.max(2, Math.floor(typed.length / 3));
  return best.d <= allowed ? best.id : undefined;
}
