/**
 * Keys as the guest's keyboard sees them, for the keys menu and for typing pasted text. Keys are named by
 * DOM `KeyboardEvent.code`; each has an X11 keysym (what VNC sends) and a PC XT scancode (what QEMU's
 * keyboard and SPICE take). Pasted text is typed on a US layout, shifted characters inside Shift.
 */

export interface KeyCombo {
  label: string;
  keys: readonly string[];
}

export const KEY_COMBOS: readonly KeyCombo[] = [
  { label: 'Ctrl+Alt+Del', keys: ['ControlLeft', 'AltLeft', 'Delete'] },
  ...Array.from({ length: 12 }, (_, i) => ({ label: `Ctrl+Alt+F${i + 1}`, keys: ['ControlLeft', 'AltLeft', `F${i + 1}`] })),
  { label: 'Alt+Tab', keys: ['AltLeft', 'Tab'] },
  { label: 'PrintScreen', keys: ['PrintScreen'] },
];

const SPECIAL_KEYSYMS: Record<string, number> = {
  ControlLeft: 0xffe3,
  AltLeft: 0xffe9,
  ShiftLeft: 0xffe1,
  Delete: 0xffff,
  Tab: 0xff09,
  Enter: 0xff0d,
  Backspace: 0xff08,
  Escape: 0xff1b,
  PrintScreen: 0xff61,
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`F${i + 1}`, 0xffbe + i])),
};

// Scan code set 1; 0xe0xx are the extended (grey) keys.
const SCANCODES: Record<string, number> = {
  Escape: 0x01,
  Digit1: 0x02, Digit2: 0x03, Digit3: 0x04, Digit4: 0x05, Digit5: 0x06,
  Digit6: 0x07, Digit7: 0x08, Digit8: 0x09, Digit9: 0x0a, Digit0: 0x0b,
  Minus: 0x0c, Equal: 0x0d, Backspace: 0x0e, Tab: 0x0f,
  KeyQ: 0x10, KeyW: 0x11, KeyE: 0x12, KeyR: 0x13, KeyT: 0x14, KeyY: 0x15, KeyU: 0x16, KeyI: 0x17, KeyO: 0x18, KeyP: 0x19,
  BracketLeft: 0x1a, BracketRight: 0x1b, Enter: 0x1c, ControlLeft: 0x1d,
  KeyA: 0x1e, KeyS: 0x1f, KeyD: 0x20, KeyF: 0x21, KeyG: 0x22, KeyH: 0x23, KeyJ: 0x24, KeyK: 0x25, KeyL: 0x26,
  Semicolon: 0x27, Quote: 0x28, Backquote: 0x29, ShiftLeft: 0x2a, Backslash: 0x2b,
  KeyZ: 0x2c, KeyX: 0x2d, KeyC: 0x2e, KeyV: 0x2f, KeyB: 0x30, KeyN: 0x31, KeyM: 0x32,
  Comma: 0x33, Period: 0x34, Slash: 0x35, AltLeft: 0x38, Space: 0x39,
  F1: 0x3b, F2: 0x3c, F3: 0x3d, F4: 0x3e, F5: 0x3f, F6: 0x40, F7: 0x41, F8: 0x42, F9: 0x43, F10: 0x44,
  F11: 0x57, F12: 0x58,
  PrintScreen: 0xe037, Delete: 0xe053,
};

const PUNCTUATION: Record<string, [code: string, shifted: string]> = {
  '-': ['Minus', '_'], '=': ['Equal', '+'], '[': ['BracketLeft', '{'], ']': ['BracketRight', '}'],
  '\\': ['Backslash', '|'], ';': ['Semicolon', ':'], "'": ['Quote', '"'], '`': ['Backquote', '~'],
  ',': ['Comma', '<'], '.': ['Period', '>'], '/': ['Slash', '?'],
  '1': ['Digit1', '!'], '2': ['Digit2', '@'], '3': ['Digit3', '#'], '4': ['Digit4', '$'], '5': ['Digit5', '%'],
  '6': ['Digit6', '^'], '7': ['Digit7', '&'], '8': ['Digit8', '*'], '9': ['Digit9', '('], '0': ['Digit0', ')'],
};

const CHAR_KEYS = new Map<string, { code: string; shift: boolean }>([[' ', { code: 'Space', shift: false }]]);
for (const [plain, [code, shifted]] of Object.entries(PUNCTUATION)) {
  CHAR_KEYS.set(plain, { code, shift: false });
  CHAR_KEYS.set(shifted, { code, shift: true });
}
for (let c = 0; c < 26; c++) {
  const upper = String.fromCharCode(65 + c);
  CHAR_KEYS.set(upper.toLowerCase(), { code: `Key${upper}`, shift: false });
  CHAR_KEYS.set(upper, { code: `Key${upper}`, shift: true });
}

/** The X11 keysym of a named key (Latin-1 characters are their own keysym). */
export function keysymOf(code: string): number {
  const special = SPECIAL_KEYSYMS[code];
  if (special !== undefined) return special;
  if (code === 'Space') return 0x20;
  const letter = /^Key([A-Z])$/.exec(code);
  if (letter) return letter[1]!.toLowerCase().charCodeAt(0);
  const digit = /^Digit(\d)$/.exec(code);
  if (digit) return digit[1]!.charCodeAt(0);
  const punct = Object.entries(PUNCTUATION).find(([, [c]]) => c === code);
  return punct ? punct[0].charCodeAt(0) : 0;
}

/** The XT scancode of a named key, or undefined for a key this table does not know. */
export function scancodeOf(code: string): number | undefined {
  return SCANCODES[code];
}

/** One key of typed text: press `code` (inside Shift when `shift`), sending `keysym` to VNC. */
export interface Stroke {
  code: string | null;
  keysym: number;
  shift: boolean;
}

/**
 * The strokes that type `text`. Newlines are Return, tabs are Tab. A Latin-1 character missing from the
 * US layout is sent by keysym alone (VNC can, SPICE cannot); anything else is skipped and counted.
 */
export function strokesFor(text: string): { strokes: Stroke[]; skipped: number } {
  const strokes: Stroke[] = [];
  let skipped = 0;
  for (const ch of text.replace(/\r\n?/g, '\n')) {
    if (ch === '\n') strokes.push({ code: 'Enter', keysym: 0xff0d, shift: false });
    else if (ch === '\t') strokes.push({ code: 'Tab', keysym: 0xff09, shift: false });
    else {
      const key = CHAR_KEYS.get(ch);
      const point = ch.codePointAt(0)!;
      if (key) strokes.push({ code: key.code, keysym: point, shift: key.shift });
      else if (point >= 0xa0 && point <= 0xff) strokes.push({ code: null, keysym: point, shift: false });
      else skipped++;
    }
  }
  return { strokes, skipped };
}

/**
 * Sends `items` a few at a time with a pause between, so a long paste neither blocks the page nor overruns
 * the guest's keyboard (QEMU's PS/2 queue is short and drops what does not fit).
 */
export async function paced<T>(items: readonly T[], send: (item: T) => void, { every = 16, pauseMs = 10 } = {}): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    send(items[i]!);
    if ((i + 1) % every === 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
