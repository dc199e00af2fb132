// Kept free of other imports so proxy.ts can use it without pulling in the API client.
export const SESSION_COOKIE = 'aster_session';
/** Set by proxy.ts on every request: the page's path and query, for layouts (which are not told it). */
export const PATH_HEADER = 'x-aster-path';
