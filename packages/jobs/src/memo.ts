/**
 * `name` worked out once per queue and kept (up to a bound: queues are few, but nothing grows without end). For
 * names that cost a hash, asked for at every fetch and send.
 */
export function hashedOnce(name: (queue: string) => string): (queue: string) => string {
  const known = new Map<string, string>();
  return (queue) => {
    let answer = known.get(queue);
    if (answer === undefined) {
      answer = name(queue);
      if (known.size < 100_000) known.set(queue, answer);
    }
    return answer;
  };
}
