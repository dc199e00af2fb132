// Kept free of other imports so proxy.ts can use it without pulling in the API client.
export const SESSION_COOKIE = 'aster_session';
