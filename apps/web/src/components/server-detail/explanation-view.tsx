import ui from '@/components/ui/ui.module.css';
import { describeExplanation, hostList, type ExplanationView } from './explanation';
import styles from './server-detail.module.css';

/**
 * Why the scheduler found no host, per filter: how many hosts each removed and why. Host names come only
 * in an administrator's view (the API leaves them out for everyone else).
 */
export function Explanation({ explanation }: { explanation: ExplanationView }) {
  const text = describeExplanation(explanation);
  return (
    <section aria-label="Why no host was found" className={styles.explanation}>
      <p>{text.intro}</p>
      {text.filters.length ? (
        <ul className={styles.filters}>
          {text.filters.map((f) => (
            <li key={f.filter}>
              <strong>{f.filter}</strong> — {f.summary}
              <ul>
                {f.reasons.map((r) => (
                  <li key={r.text}>
                    {r.text}
                    {r.hosts ? <span className={styles.hosts}> (hosts: {hostList(r.hosts)})</span> : null}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      ) : null}
      {text.claims ? <p>{text.claims}</p> : null}
      {text.passedAll.length ? <p className={ui.muted}>Every host passed {text.passedAll.join(', ')}.</p> : null}
    </section>
  );
}
