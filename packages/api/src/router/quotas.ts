import { router } from '../trpc.ts';

export const quotasRouter = router({});
