import { router } from '../trpc.ts';

export const hypervisorsRouter = router({});
