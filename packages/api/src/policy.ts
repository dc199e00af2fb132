import type { Auth } from './context.ts';
import { satisfies, type Role } from './roles.ts';

/**
 * Who may call each procedure, in one table (Nova's policy.yaml). Checked in one place, the policy
 * middleware in trpc.ts; a procedure missing from this table is refused, and a test keeps the two in step.
 * - public: anyone, no token
 * - authenticated: any valid token (every token holds at least role reader on its project)
 * - reader / member: at least that role on the token's project
 * - admin: a cloud administrator (role admin on the admin project)
 * Handlers narrow further where the rule depends on the object (a user may change their own password).
 */
export type Rule = 'public' | 'authenticated' | Role;

export const policy = {
  'auth.login': 'public',
  'auth.logout': 'authenticated',
  'auth.switchProject': 'authenticated',
  'auth.whoami': 'authenticated',

  'projects.list': 'authenticated',
  'projects.create': 'admin',
  'projects.delete': 'admin',

  'users.list': 'admin',
  'users.create': 'admin',
  'users.update': 'admin',
  'users.delete': 'admin',
  'users.setPassword': 'authenticated',

  'roleAssignments.list': 'admin',
  'roleAssignments.grant': 'admin',
  'roleAssignments.revoke': 'admin',

  'credentials.list': 'authenticated',
  'credentials.create': 'authenticated',
  'credentials.revoke': 'authenticated',

  'services.list': 'admin',
  'services.disable': 'admin',
  'services.enable': 'admin',
  'services.forceDown': 'admin',

  'flavors.list': 'authenticated',
  'flavors.get': 'authenticated',
  'flavors.create': 'admin',
  'flavors.delete': 'admin',
  'flavors.setExtraSpecs': 'admin',
  'flavors.listAccess': 'admin',
  'flavors.addAccess': 'admin',
  'flavors.removeAccess': 'admin',

  'images.list': 'reader',
  'images.get': 'reader',
  'images.create': 'member',
  'images.update': 'member',
  'images.delete': 'member',
  'images.listMembers': 'reader',
  'images.addMember': 'member',
  'images.removeMember': 'member',

  'keypairs.list': 'authenticated',
  'keypairs.get': 'authenticated',
  'keypairs.import': 'authenticated',
  'keypairs.delete': 'authenticated',

  'networks.list': 'reader',
  'networks.get': 'reader',
  'networks.create': 'member',
  'networks.update': 'member',
  'networks.delete': 'member',
  'networks.topology': 'reader',
  'networks.watch': 'reader',
  'networks.explainConnectivity': 'reader',

  'subnets.list': 'reader',
  'subnets.get': 'reader',
  'subnets.create': 'member',
  'subnets.update': 'member',
  'subnets.delete': 'member',

  'ports.list': 'reader',
  'ports.get': 'reader',
  'ports.create': 'member',
  'ports.update': 'member',
  'ports.delete': 'member',

  'routers.list': 'reader',
  'routers.get': 'reader',
  'routers.create': 'member',
  'routers.update': 'member',
  'routers.delete': 'member',
  'routers.addInterface': 'member',
  'routers.removeInterface': 'member',

  'floatingIps.list': 'reader',
  'floatingIps.get': 'reader',
  'floatingIps.create': 'member',
  'floatingIps.update': 'member',
  'floatingIps.delete': 'member',

  'securityGroups.list': 'reader',
  'securityGroups.get': 'reader',
  'securityGroups.create': 'member',
  'securityGroups.update': 'member',
  'securityGroups.delete': 'member',
  'securityGroups.addRule': 'member',
  'securityGroups.removeRule': 'member',

  'quotas.get': 'reader',
  'quotas.set': 'admin',
  'limits.get': 'reader',
  'limits.history': 'reader',

  'hypervisors.list': 'admin',
  'hypervisors.get': 'admin',
  'hypervisors.candidates': 'admin',

  'aggregates.list': 'admin',
  'aggregates.get': 'admin',
  'aggregates.create': 'admin',
  'aggregates.update': 'admin',
  'aggregates.delete': 'admin',
  'aggregates.addHost': 'admin',
  'aggregates.removeHost': 'admin',
  'aggregates.setMetadata': 'admin',

  'availabilityZones.list': 'authenticated',

  'serverGroups.create': 'member',
  'serverGroups.list': 'reader',
  'serverGroups.get': 'reader',
  'serverGroups.delete': 'member',

  'servers.create': 'member',
  'servers.list': 'reader',
  'servers.get': 'reader',
  'servers.update': 'member',
  'servers.delete': 'member',
  'servers.start': 'member',
  'servers.stop': 'member',
  'servers.reboot': 'member',
  'servers.pause': 'member',
  'servers.unpause': 'member',
  'servers.suspend': 'member',
  'servers.resume': 'member',
  'servers.resize': 'member',
  'servers.confirmResize': 'member',
  'servers.revertResize': 'member',
  'servers.rebuild': 'member',
  'servers.rescue': 'member',
  'servers.unrescue': 'member',
  'servers.createImage': 'member',
  'servers.lock': 'member',
  'servers.unlock': 'member',
  'servers.addFloatingIp': 'member',
  'servers.removeFloatingIp': 'member',
  'servers.consoleLog': 'member',
  'servers.getConsole': 'member',
  'servers.actions': 'reader',
  'servers.watch': 'reader',
} as const satisfies Record<string, Rule>;

export type PolicyPath = keyof typeof policy;

export function ruleFor(path: string): Rule | undefined {
  return Object.hasOwn(policy, path) ? (policy as Record<string, Rule>)[path] : undefined;
}

/** Whether `auth` passes `rule`; null when it does, else why not, in words for the caller. */
export function refusal(rule: Rule, auth: Pick<Auth, 'roles' | 'isAdmin' | 'project'>): string | null {
  if (rule === 'public' || rule === 'authenticated') return null;
  if (rule === 'admin') return auth.isAdmin ? null : 'a cloud administrator (role admin on the admin project)';
  return satisfies(auth.roles, rule) ? null : `role ${rule} on project ${auth.project.name}`;
}
