import { describe, expect, it } from 'vitest';
import { plainText } from '../src/components/console/plain-text.ts';

describe('a serial console log as plain text', () => {
  it('drops the escape sequences a shell writes for its terminal', () => {
    expect(plainText('\u001b[6n~ # ls\r\n')).toBe('~ # ls\n');
    expect(plainText('\u001b[1;32mgreen\u001b[0m and \u001b[?25lhidden cursor\u001b[?25h')).toBe('green and hidden cursor');
    expect(plainText('\u001b]0;root@guest: ~\u0007prompt')).toBe('prompt');
    expect(plainText('\u001b]2;title\u001b\\after')).toBe('after');
    expect(plainText('\u001b(Bplain\u001b7\u001b8\u001bc')).toBe('plain');
    expect(plainText('\u009b31mred')).toBe('red');
  });

  it('keeps text, tabs and newlines, and makes carriage returns line ends', () => {
    expect(plainText('a\tb\nc\rd\r\ne')).toBe('a\tb\nc\nd\ne');
    expect(plainText('aster-guest ready hostname=web-1')).toBe('aster-guest ready hostname=web-1');
  });

  it('applies backspaces within a line and drops other control characters', () => {
    expect(plainText('lss\b -l')).toBe('ls -l');
    expect(plainText('x\n\by')).toBe('x\ny');
    expect(plainText('bell\u0007 null\u0000 del\u007f')).toBe('bell null del');
  });
});
