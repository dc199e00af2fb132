export { closeCodes, closes, type Close, type CloseCode } from './close.ts';
export { hashToken, isTokenShaped, PgTokenResolver, type ConsoleTarget, type ConsoleType, type TokenResolver } from './tokens.ts';
export { consoleState, originAllowed, originAllowList, refusalFor, tokenOf, TOKEN_COOKIE } from './admission.ts';
export { createConsoleProxy, type ConsoleProxy, type ConsoleProxyOptions } from './server.ts';
export type { ConsoleSession, EndedBy } from './session.ts';
