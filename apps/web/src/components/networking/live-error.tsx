import ui from '@/components/ui/ui.module.css';
import { describeApiError } from '@/lib/api-error';

/** Said when a page's live updates have stopped, so what it shows is known to be possibly old. */
export function LiveError({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p role="alert" className={ui.alert}>
      Live updates stopped: {describeApiError(error)} Reload the page to see the latest state.
    </p>
  );
}
