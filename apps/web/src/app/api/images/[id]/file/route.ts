import { forwardToApi } from '@/lib/forward';

// Image data through the web app: uploads stream on to the API (the page shows their progress).
export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };

async function handle(request: Request, { params }: Context): Promise<Response> {
  const { id } = await params;
  if (!/^[0-9a-f-]{36}$/i.test(id)) return Response.json({ error: `${id} is not an image id` }, { status: 400 });
  return forwardToApi(request, `/v1/images/${id}/file`);
}

export const GET = handle;
export const HEAD = handle;
export const PUT = handle;
