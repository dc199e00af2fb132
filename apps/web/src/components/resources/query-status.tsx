import { errorText } from './format';

/** What a list shows while it loads or when it could not be read (with the API's reason). */
export function QueryStatus({ isPending, error, what }: { isPending: boolean; error: unknown; what: string }) {
  if (error) {
    return (
      <p role="alert" className="alert">
        Could not load {what}: {errorText(error)}
      </p>
    );
  }
  if (isPending) return <p className="muted">Loading {what}…</p>;
  return null;
}
