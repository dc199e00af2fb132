import { router } from '../trpc.ts';

export const imagesRouter = router({});
