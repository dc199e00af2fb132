'use client';

import { createContext, useContext, type ReactNode } from 'react';
import type { Whoami } from './session';

const WhoamiContext = createContext<Whoami | null>(null);

/** Who is signed in, for client components (role gates, project names); set by the console's layout. */
export function WhoamiProvider({ whoami, children }: { whoami: Whoami; children: ReactNode }) {
  return <WhoamiContext.Provider value={whoami}>{children}</WhoamiContext.Provider>;
}

export function useWhoami(): Whoami {
  const whoami = useContext(WhoamiContext);
  if (!whoami) throw new Error('useWhoami is used outside the signed-in console');
  return whoami;
}

/** Members and admins of the project may act; readers may only look. */
export function canAct(whoami: Whoami): boolean {
  return whoami.isAdmin || whoami.roles.some((r) => r === 'member' || r === 'admin');
}
