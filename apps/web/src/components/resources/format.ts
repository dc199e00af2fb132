/** A tRPC or network failure's own words, for a toast or an inline alert. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
