import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { Auth, Context } from './context.ts';
import { AsterError, toTRPCError, type AsterErrorCode } from './errors.ts';
import { refusal, ruleFor } from './policy.ts';
import { resolveToken } from './identity/tokens.ts';

function describeZod(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to clients; say what went wrong, and for unexpected errors give the request id.
  isDev: false,
  // servers.watch streams over SSE; pings keep proxies from closing a quiet stream, and a client that hears
  // nothing for 20 s reconnects (resuming from its last event id).
  sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 20_000 } },
  errorFormatter({ shape, error, ctx }) {
    const cause = error.cause;
    let message = shape.message;
    let asterCode: AsterErrorCode | undefined;
    if (cause instanceof AsterError) asterCode = cause.code;
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      message = `Internal error${ctx ? ` (request ${ctx.requestId})` : ''}`;
    }
    return {
      message,
      code: shape.code,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        asterCode,
        requestId: ctx?.requestId,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain errors and bad input become tRPC errors here, in one place, with messages a person can act on. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof AsterError) return { ...result, error: toTRPCError(cause) };
  if (cause instanceof ZodError && result.error.code === 'BAD_REQUEST') {
    return { ...result, error: new TRPCError({ code: 'BAD_REQUEST', message: `Invalid input: ${describeZod(cause)}`, cause }) };
  }
  return result;
});

/**
 * The policy check, for every procedure: the rule comes from the policy table by procedure path.
 * A path with no rule is refused (fail closed).
 */
const enforcePolicy = t.middleware(async ({ ctx, path, next }) => {
  const rule = ruleFor(path);
  if (!rule) {
    ctx.log.error('procedure has no policy entry', { path });
    throw new TRPCError({ code: 'FORBIDDEN', message: `No policy allows ${path}` });
  }
  if (rule === 'public') return next({ ctx: { auth: null as Auth | null } });
  if (!ctx.token) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first: this call needs a token' });
  let auth: Auth;
  try {
    auth = await resolveToken(ctx.db, ctx.token, ctx.now());
  } catch (error) {
    if (error instanceof AsterError) throw toTRPCError(error);
    throw error;
  }
  const need = refusal(rule, auth);
  if (need) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `${path} needs ${need}; you hold ${auth.roles.join(', ')} on project ${auth.project.name}` });
  }
  return next({ ctx: { auth: auth as Auth | null } });
});

/**
 * One log line per change made through the API, by whom and how it ended: an audit trail for operators.
 * (Calls refused by the policy are in the request log, with their 401 or 403.)
 */
const auditMutations = t.middleware(async ({ ctx, path, type, next }) => {
  const result = await next();
  if (type !== 'mutation') return result;
  const auth = (ctx as { auth?: Auth | null }).auth;
  ctx.log.info('mutation', {
    path,
    ok: result.ok,
    ...(auth ? { user: auth.user.name, project: auth.project.name } : {}),
    ...(result.ok ? {} : { code: result.error.code, reason: result.error.message }),
  });
  return result;
});

// Order: the policy first; the audit sees errors after mapErrors has given them their final code.
const base = t.procedure.use(enforcePolicy).use(auditMutations).use(mapErrors);

export const publicProcedure = base;

/** Narrows ctx.auth to non-null for procedures whose policy rule needs a token. */
export const authedProcedure = base.use(({ ctx, next }) => {
  if (!ctx.auth) throw new TRPCError({ code: 'FORBIDDEN', message: 'This call needs a token but its policy is public' });
  return next({ ctx: { auth: ctx.auth } });
});

export type AuthedContext = Context & { auth: Auth };
