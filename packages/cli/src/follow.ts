/**
 * What `next` (a later read of the last lines of a console log) adds to `prev`. A log that only grew starts
 * with `prev`; one whose first lines fell out of the window starts at a line of `prev`: the longest end of
 * `prev` that `next` begins with is what both hold. Without any overlap (a log that started over), all of
 * `next` is new.
 */
export function newOutput(prev: string, next: string): string {
  if (next.startsWith(prev)) return next.slice(prev.length);
  for (let at = prev.indexOf('\n'); at !== -1 && at + 1 < prev.length; at = prev.indexOf('\n', at + 1)) {
    const overlap = prev.slice(at + 1);
    if (next.startsWith(overlap)) return next.slice(overlap.length);
  }
  return next;
}

/** The last `n` lines of `text` (a last line without its newline counts as one). */
export function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  if (complete) lines.pop();
  const kept = lines.slice(Math.max(0, lines.length - n)).join('\n');
  return kept && complete ? kept + '\n' : kept;
}
