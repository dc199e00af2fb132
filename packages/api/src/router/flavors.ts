import { router } from '../trpc.ts';

export const flavorsRouter = router({});
