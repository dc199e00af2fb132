import { describe, expect, it } from 'vitest';
import { whyNoConsole } from '../src/components/console/availability.ts';
import { describeClose } from '../src/components/console/close-reasons.ts';
import { KEY_COMBOS, keysymOf, paced, scancodeOf, strokesFor } from '../src/components/console/keys.ts';

describe('typing pasted text as keystrokes', () => {
  it('types letters, digits and punctuation on a US layout, shifted characters inside Shift', () => {
    const { strokes, skipped } = strokesFor('aZ9$ _\n\t');
    expect(skipped).toBe(0);
    expect(strokes).toEqual([
      { code: 'KeyA', keysym: 0x61, shift: false },
      { code: 'KeyZ', keysym: 0x5a, shift: true },
      { code: 'Digit9', keysym: 0x39, shift: false },
      { code: 'Digit4', keysym: 0x24, shift: true },
      { code: 'Space', keysym: 0x20, shift: false },
      { code: 'Minus', keysym: 0x5f, shift: true },
      { code: 'Enter', keysym: 0xff0d, shift: false },
      { code: 'Tab', keysym: 0xff09, shift: false },
    ]);
  });

  it('sends Latin-1 beyond the layout by keysym alone, skips and counts what no keyboard can type', () => {
    expect(strokesFor('é€\r\n')).toEqual({ strokes: [{ code: null, keysym: 0xe9, shift: false }, { code: 'Enter', keysym: 0xff0d, shift: false }], skipped: 1 });
  });

  it('knows the keysym and scancode of every key in the keys menu', () => {
    for (const combo of KEY_COMBOS) {
      for (const key of combo.keys) {
        expect({ key, keysym: keysymOf(key) > 0, scancode: scancodeOf(key) !== undefined }).toEqual({ key, keysym: true, scancode: true });
      }
    }
    expect([keysymOf('Delete'), scancodeOf('Delete')]).toEqual([0xffff, 0xe053]);
    expect([keysymOf('F12'), scancodeOf('F12')]).toEqual([0xffc9, 0x58]);
    expect(KEY_COMBOS.map((c) => c.label)).toEqual(['Ctrl+Alt+Del', ...Array.from({ length: 12 }, (_, i) => `Ctrl+Alt+F${i + 1}`), 'Alt+Tab', 'PrintScreen']);
  });

  it('paces a long paste, sending every item once and in order', async () => {
    const sent: number[] = [];
    await paced([1, 2, 3, 4, 5], (n) => sent.push(n), { every: 2, pauseMs: 1 });
    expect(sent).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('what the console page says', () => {
  it('shows the proxy’s reason as it is, and puts a bare code into words', () => {
    expect(describeClose(4004, 'console not available: server is SHUTOFF')).toBe('console not available: server is SHUTOFF');
    expect(describeClose(1006, '')).toBe('the console proxy could not be reached or the connection dropped');
    expect(describeClose(4999, ' ')).toBe('the connection closed (code 4999)');
  });

  it('says why a server has no console, with what to do', () => {
    expect(whyNoConsole({ name: 'web-1', status: 'ACTIVE', powerState: 'RUNNING', taskState: null })).toBeNull();
    expect(whyNoConsole({ name: 'web-1', status: 'PAUSED', powerState: 'PAUSED', taskState: null })).toBeNull();
    expect(whyNoConsole({ name: 'web-1', status: 'SHUTOFF', powerState: 'SHUTDOWN', taskState: null })).toBe(
      'Server web-1 is SHUTOFF: it has no console now. Start it to open its console.',
    );
    expect(whyNoConsole({ name: 'web-1', status: 'BUILD', powerState: 'NOSTATE', taskState: 'spawning' })).toBe(
      'Server web-1 is BUILD (busy spawning): it has no console now. It gets one once it is ACTIVE.',
    );
  });
});
