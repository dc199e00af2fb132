'use client';

import { useEffect, useState } from 'react';

/** The current time, ticking every `ms` on the page's own clock (no request), for ages like "3 min". */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
