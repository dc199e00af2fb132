'use client';

import { useEffect, useRef } from 'react';

/** A ref that always holds the latest `value`, so a long-lived effect can call fresh callbacks without restarting. */
export function useLatest<T>(value: T) {
  const ref = useRef(value);
  useEffect(() => {
    ref.current = value;
  }, [value]);
  return ref;
}
