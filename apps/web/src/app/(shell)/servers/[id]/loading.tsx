/** Shown while the server is read (the first visit in development also compiles the page). */
export default function Loading() {
  return (
    <main className="content">
      <p role="status" className="muted">
        Reading the server…
      </p>
    </main>
  );
}
