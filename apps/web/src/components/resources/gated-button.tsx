import type { ButtonHTMLAttributes } from 'react';

/** A button that is disabled, with the reason as its tooltip, when `blocked` says why it may not be used. */
export function GatedButton({ blocked, title, disabled, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { blocked: string | null }) {
  return <button type="button" {...rest} disabled={Boolean(blocked) || disabled} title={blocked ?? title} />;
}
