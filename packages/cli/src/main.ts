import { run } from './cli.ts';
import { readSettings } from './env.ts';

// A closed pipe (`aster server list | head`) ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, settings: readSettings(), state: {} });
// Open HTTP connections and the watch stream would keep the process alive; the answer is complete.
process.exit(code);
