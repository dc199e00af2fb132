/**
 * Whether a server has a screen and serial line to open now, from what the API shows of it. Only a running
 * or paused guest has them (libvirt gives the console ports at each start); the API and the console proxy
 * decide for real, and the page shows their reason when they refuse.
 */
export function whyNoConsole(server: { name: string; status: string; powerState: string; taskState: string | null }): string | null {
  if (server.powerState === 'RUNNING' || server.powerState === 'PAUSED') return null;
  const hint: Record<string, string> = {
    SHUTOFF: 'Start it to open its console.',
    SUSPENDED: 'Resume it to open its console.',
    BUILD: 'It gets one once it is ACTIVE.',
  };
  const busy = server.taskState ? ` (busy ${server.taskState.replaceAll('_', ' ')})` : '';
  return `Server ${server.name} is ${server.status}${busy}: it has no console now. ${hint[server.status] ?? ''}`.trim();
}
