import { router } from '../trpc.ts';

export const limitsRouter = router({});
