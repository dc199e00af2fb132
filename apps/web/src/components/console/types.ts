import { CONSOLE_TYPES, type ConsoleType } from '@aster/compute/console';

/** The console types of `servers.getConsole`, in the order the tab bar shows them. */
export { CONSOLE_TYPES, type ConsoleType };

export const CONSOLE_LABELS: Record<ConsoleType, string> = {
  novnc: 'VNC',
  'spice-html5': 'SPICE',
  serial: 'Serial',
};

export function parseConsoleType(value: unknown): ConsoleType {
  return CONSOLE_TYPES.find((t) => t === value) ?? 'novnc';
}

/** What the console page gets from `openConsole`: a fresh token and where to use it, or why not. */
export type OpenConsoleResult =
  | { ok: true; websocketUrl: string; token: string; expiresAt: string }
  | { ok: false; message: string };

export type ConnectionStatus =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'disconnected'; reason: string };

/** A console session the page opened: the client connects to `websocketUrl` once. */
export interface ConsoleConnection {
  websocketUrl: string;
  token: string;
  expiresAt: string;
}

/**
 * What the toolbar can ask of the client on screen. Keys are DOM `KeyboardEvent.code` names
 * ('ControlLeft', 'F1', 'KeyA'); a combination is pressed in order and released in reverse.
 */
export interface ConsoleControls {
  sendCombo(keys: readonly string[]): void;
  holdKey(key: 'ControlLeft' | 'AltLeft', down: boolean): void;
  typeText(text: string): Promise<void>;
  /** Whether the keys menu applies (a serial line has no Ctrl+Alt+Del). */
  keyboard: boolean;
}

/** How a graphical console fits its screen into the page (noVNC's scaleViewport and resizeSession). */
export const SCALING_LABELS = { fit: 'Fit to window', remote: 'Remote resize', none: 'None' } as const;
export type Scaling = keyof typeof SCALING_LABELS;

/** The props every console client takes. */
export interface ConsoleClientProps {
  connection: ConsoleConnection;
  onStatus: (status: ConnectionStatus) => void;
  onControls: (controls: ConsoleControls | null) => void;
  scaling: Scaling;
}
