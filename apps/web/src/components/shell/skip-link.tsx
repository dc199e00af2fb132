import styles from './shell.module.css';

/** Where the skip link goes: the page beside the sections. */
export const CONTENT_ID = 'content';

/** "Skip to content": the first stop of the keyboard, past the header and the sections. */
export function SkipLink() {
  return (
    <a href={`#${CONTENT_ID}`} className={styles.skipLink}>
      Skip to content
    </a>
  );
}
