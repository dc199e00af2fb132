'use client';

import { type RefObject, useEffect } from 'react';

/** The places pages can be asked to focus on arrival. */
export const INSTANCES_HEADING = 'instances-heading';

// The one place asked for by the page that navigated here (a client-side navigation keeps this module).
let asked: string | null = null;

/** Asks the next page to put the focus on its place named `place` (e.g. after a delete that left the page). */
export function focusOnArrival(place: string): void {
  asked = place;
}

/** Focuses `target` when the page that navigated here asked for `place`. */
export function useArrivalFocus(place: string, target: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    if (asked !== place) return;
    asked = null;
    target.current?.focus();
  }, [place, target]);
}
