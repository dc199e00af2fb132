import { router } from '../trpc.ts';

export const keypairsRouter = router({});
