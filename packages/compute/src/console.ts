/**
 * The consoles of a server, as the API hands them out, the console proxy checks them and the web console opens
 * them. Pure data: a browser may load this module.
 */

/** The console types of `servers.getConsole`, in the order the console page's tabs show them. */
export const CONSOLE_TYPES = ['novnc', 'spice-html5', 'serial'] as const;
export type ConsoleType = (typeof CONSOLE_TYPES)[number];

/** The cookie a console page sets for clients that open several WebSockets (SPICE opens one per channel). */
export const CONSOLE_TOKEN_COOKIE = 'aster_console_token';
