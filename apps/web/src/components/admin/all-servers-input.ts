/** What All instances lists (and the server prefetches): the newest thousand of every project. */
export const ALL_SERVERS_INPUT = { allProjects: true, limit: 1000 } as const;
