/**
 * Nova's extra_specs_ops.match: a requirement is a plain value (equal strings), or an operator and operand(s):
 * `= 4` (at least, as numbers), `== 4`, `!= 4`, `>= 4`, `<= 4`, `s== a`, `s!= a`, `s< a`, `s<= a`, `s> a`,
 * `s>= a`, `<in> sub` (substring), `<all-in> a b` (all substrings), `<or> a <or> b` (one of).
 */

type Op = (value: string, operands: string[]) => boolean;

const num = (s: string | undefined) => (s === undefined || s.trim() === '' ? Number.NaN : Number(s));
// A value or operand that is not a number matches nothing (Nova would fail the whole request on it).
const numeric = (cmp: (a: number, b: number) => boolean): Op => (value, [b]) => {
  const x = num(value);
  const y = num(b);
  return !Number.isNaN(x) && !Number.isNaN(y) && cmp(x, y);
};
const text = (cmp: (a: string, b: string) => boolean): Op => (value, [b]) => b !== undefined && cmp(value, b);

const ops: Record<string, Op> = {
  '=': numeric((a, b) => a >= b),
  '==': numeric((a, b) => a === b),
  '!=': numeric((a, b) => a !== b),
  '>=': numeric((a, b) => a >= b),
  '<=': numeric((a, b) => a <= b),
  's==': text((a, b) => a === b),
  's!=': text((a, b) => a !== b),
  's<': text((a, b) => a < b),
  's<=': text((a, b) => a <= b),
  's>': text((a, b) => a > b),
  's>=': text((a, b) => a >= b),
  '<in>': text((a, b) => a.includes(b)),
  '<all-in>': (value, operands) => operands.length > 0 && operands.every((o) => value.includes(o)),
  // `<or> a <or> b`: the operands are every other word after the first operator.
  '<or>': (value, operands) => operands.some((o, i) => i % 2 === 0 && o === value),
};

/** A requirement parsed once, then matched against many values. */
export function requirement(req: string): (value: string) => boolean {
  const words = req.split(/\s+/).filter(Boolean);
  const op = words[0] === undefined ? undefined : ops[words[0]];
  if (!op) return (value) => value === req;
  const operands = words.slice(1);
  return (value) => op(value, operands);
}
