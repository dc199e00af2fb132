// Query inputs shared by a page's server-side prefetch and its client components (same input, same cache entry).

/**
 * The ports.list input for one server's ports. A server id names one project: an administrator looking at
 * another project's server sees its ports (for everyone else the API keeps to their own project anyway).
 */
export const serverPortsInput = (serverId: string) => ({ serverId, allProjects: true });

/**
 * The securityGroups.list input for naming groups: an administrator looking at another project's ports sees their
 * groups' names too (for everyone else the API keeps to their own project).
 */
export const GROUP_NAMES_INPUT = { allProjects: true };
