const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

/** Dates are shown in UTC, as the API and the logs give them. */
export function formatDate(iso: string | null, never = 'never'): string {
  return iso ? `${dateTime.format(new Date(iso))} UTC` : never;
}
