/** Number text for JSON output: finite numbers as JavaScript prints them, NaN as null, infinities clamped. */
export function jsonNumber(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'null';
  return value > 0 ? String(Number.MAX_VALUE) : String(-Number.MAX_VALUE);
}

/**
 * CloudWatch accepts magnitudes from 8.515920e-109 to 1.174271e+108 (and zero); it rejects
 * anything else, infinities included. Values outside are clamped into that range.
 */
export const CLOUDWATCH_MAX = 1.174271e108;
export const CLOUDWATCH_MIN = 8.51592e-109;

/**
 * Number text for EMF: never in exponent form (some consumers of EMF lines mis-read it), clamped
 * into CloudWatch's range. NaN is the caller's to skip.
 */
export function emfNumber(value: number): string {
  let v = value;
  if (v > CLOUDWATCH_MAX) v = CLOUDWATCH_MAX;
  else if (v < -CLOUDWATCH_MAX) v = -CLOUDWATCH_MAX;
  else if (v !== 0 && Math.abs(v) < CLOUDWATCH_MIN) v = 0;
  const text = String(v);
  if (!text.includes('e')) return text;
  return Math.abs(v) >= 1 ? plainLarge(v) : plainSmall(v);
}

/** 1.5e+21 → "1500000000000000000000", from the shortest round-trip digits. */
function plainLarge(v: number): string {
  const [mantissa = '0', exponentText = '0'] = Math.abs(v).toString().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const sign = v < 0 ? '-' : '';
  return `${sign}${whole}${fraction}${'0'.repeat(Number(exponentText) - fraction.length)}`;
}

/** 1.5e-7 → "0.00000015", from the shortest round-trip digits, without float noise. */
function plainSmall(v: number): string {
  const [mantissa = '0', exponentText = '0'] = Math.abs(v).toString().split('e');
  const exponent = Number(exponentText); // negative here
  const digits = mantissa.replace('.', '');
  const sign = v < 0 ? '-' : '';
  return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
}
