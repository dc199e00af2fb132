import type { LaunchDraft } from './validate';

/** The Network field's value for "let the API choose" (Nova's `auto`). */
export const AUTO_NETWORK = 'auto';

/** The name of the group every project has, which new ports join unless others are picked. */
export const DEFAULT_GROUP = 'default';

/** The groups ticked: those picked, or until something is picked, the project's `default`. */
export function chosenGroups(draft: Pick<LaunchDraft, 'securityGroupIds'>, groups: { id: string; name: string }[]): string[] {
  return draft.securityGroupIds ?? groups.filter((g) => g.name === DEFAULT_GROUP).map((g) => g.id);
}

/** The networks asked for, first the one picked then the further ones, each once; null for `auto`. */
export function chosenNetworks(draft: Pick<LaunchDraft, 'networkId' | 'moreNetworkIds'>): string[] | null {
  if (!draft.networkId || draft.networkId === AUTO_NETWORK) return null;
  return [...new Set([draft.networkId, ...draft.moreNetworkIds])];
}
