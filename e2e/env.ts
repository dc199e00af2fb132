// The one place the browser tests read their settings. The test launcher starts the stack and
// passes these; running Playwright by hand needs them set the same way.

function required(name: string, what: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: it must hold ${what}. The e2e launcher (npm test) sets it.`);
  }
  return value;
}

/** Base URL of the web app under test, e.g. http://127.0.0.1:3000. */
export const webUrl = (): string => required('ASTER_WEB_URL', 'the web app URL');

/** Base URL of the API, e.g. http://127.0.0.1:8774. */
export const apiUrl = (): string => required('ASTER_API_URL', 'the Aster API URL');

/** Password of the bootstrap `admin` user in project `admin`. */
export const adminPassword = (): string => required('ASTER_ADMIN_PASSWORD', "the admin user's password");

/** Where to write Playwright's JSON report, if anywhere. */
export const jsonReportPath = (): string | undefined => process.env.ASTER_E2E_JSON || undefined;

/** The shell's command search path, for commands the tests run (the aster command). */
export const searchPath = (): string => process.env.PATH ?? '/usr/bin:/bin';
