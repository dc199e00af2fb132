import { router } from '../trpc.ts';

export const serversRouter = router({});
