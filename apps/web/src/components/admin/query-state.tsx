'use client';

import { describeApiError } from '@/lib/api-error';

/** Loading and failure of a list, said the same way on every page; the failure keeps its reason. */
export function QueryState({ label, isPending, error }: { label: string; isPending: boolean; error: unknown }) {
  if (error) {
    return (
      <p role="alert" className="alert">
        Could not load {label}: {describeApiError(error)}
      </p>
    );
  }
  if (isPending) return <p className="muted">Loading {label}…</p>;
  return null;
}
