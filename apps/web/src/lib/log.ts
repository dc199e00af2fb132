import { createLogger } from '@aster/log';

/** The web app's server-side log: JSON lines like every other Aster process. */
export const log = createLogger('web');
