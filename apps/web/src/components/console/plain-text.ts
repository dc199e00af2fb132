/* eslint-disable no-control-regex -- matching control characters is the point of this file */

// What a guest writes for a terminal, not for a page: escape sequences (colours, cursor moves, the shell's
// "where is the cursor" query ESC[6n, window titles) and the other control characters.
const CSI = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]/g;
const STRING = /(?:\u001b[\]P^_X]|[\u0090\u009d\u009e\u009f\u0098])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?/g;
const OTHER_ESCAPE = /\u001b[ -/]*[0-~]?/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * A serial console's output as plain text for the page: escape sequences removed, a backspace taking back
 * the character before it (as the terminal would show), carriage returns made line ends, and every other
 * control character dropped. Tabs and newlines stay.
 */
export function plainText(raw: string): string {
  const text = raw.replace(CSI, '').replace(STRING, '').replace(OTHER_ESCAPE, '').replace(/\r\n?/g, '\n');
  let out = '';
  for (const ch of text) {
    if (ch === '\b') {
      if (out && !out.endsWith('\n')) out = out.slice(0, -1);
    } else out += ch;
  }
  return out.replace(CONTROL, '');
}
