import type { ListInput } from './types';

export const PAGE_SIZE = 20;

export type Sort = { key: 'name' | 'created'; dir: 'asc' | 'desc' };

/** The servers.list input of one page of the Instances table (also what the server prefetches for the first). */
export function listInput({ sort, allProjects, name, status, marker }: { sort: Sort; allProjects: boolean; name?: string; status?: string; marker?: string | undefined }): ListInput {
  return {
    sortKey: sort.key,
    sortDir: sort.dir,
    limit: PAGE_SIZE,
    allProjects,
    ...(name ? { name } : {}),
    ...(status ? { status: status as NonNullable<ListInput['status']> } : {}),
    ...(marker ? { marker } : {}),
  };
}

/** The page the Instances table opens on: newest first, this project. */
export const FIRST_PAGE: ListInput = listInput({ sort: { key: 'created', dir: 'desc' }, allProjects: false });
