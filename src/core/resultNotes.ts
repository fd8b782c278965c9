/**
 * A quantize result's notes, graded for the user: information, or a warning. The editor's result
 * message and the command line's summary grade them the same way.
 */

/**
 * Notes that only inform (the output differs from the source in a harmless, expected way). Every
 * other note changes what the result is worth (synthetic data, default image pre-processing,
 * per-tensor fallbacks, overrides that found no node) and is a warning.
 */
const INFORMATIONAL = [/^The opset was raised from \d+ to \d+ for /];

export function splitNotes(notes: readonly string[]): { info: string[]; warnings: string[] } {
  const info: string[] = [];
  const warnings: string[] = [];
  for (const n of notes) (INFORMATIONAL.some((re) => re.test(n)) ? info : warnings).push(n);
  return { info, warnings };
}
