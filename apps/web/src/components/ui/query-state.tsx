import { describeApiError } from '@/lib/api-error';
import ui from '@/components/ui/ui.module.css';

/** Loading and failure of a query, said the same way on every page; the failure keeps the API's reason. */
export function QueryState({ what, isPending, error }: { what: string; isPending: boolean; error: unknown }) {
  if (error) {
    return (
      <p role="alert" className={ui.alert}>
        Could not load {what}: {describeApiError(error)}
      </p>
    );
  }
  if (isPending) return <p className={ui.muted}>Loading {what}…</p>;
  return null;
}

/** Why something failed (the API's own words, or a sentence of ours), shown where it happened. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className={ui.alert}>
      {typeof error === 'string' ? error : describeApiError(error)}
    </p>
  );
}
