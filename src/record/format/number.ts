/** Number text for JSON output: finite numbers as JavaScript prints them, NaN as null, infinities clamped. */
export function jsonNumber(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'null';
  return value > 0 ? String(Number.MAX_VALUE) : String(-Number.MAX_VALUE);
}
