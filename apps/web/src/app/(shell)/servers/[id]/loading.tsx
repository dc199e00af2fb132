import ui from '@/components/ui/ui.module.css';

/** Shown while the server is read (the first visit in development also compiles the page). */
export default function Loading() {
  return (
    <main className={ui.content}>
      <p role="status" className={ui.muted}>
        Reading the server…
      </p>
    </main>
  );
}
