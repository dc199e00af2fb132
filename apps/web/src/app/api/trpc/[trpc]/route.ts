import { forwardToApi } from '@/lib/forward';

// Client components call the API here (tRPC batches and the servers.watch subscription over SSE).
export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ trpc: string }> };

async function handle(request: Request, { params }: Context): Promise<Response> {
  const { trpc } = await params;
  return forwardToApi(request, `/trpc/${encodeURIComponent(trpc).replace(/%2C/gi, ',')}`);
}

export const GET = handle;
export const POST = handle;
