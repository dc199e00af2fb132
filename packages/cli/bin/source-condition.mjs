// A module resolution hook: the workspace's packages (@aster/*) resolve through their `source` export.
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('@aster/') && !context.conditions.includes('source')) {
    return nextResolve(specifier, { ...context, conditions: ['source', ...context.conditions] });
  }
  return nextResolve(specifier, context);
}
