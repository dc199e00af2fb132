import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the import boundaries of the design are lint errors', () => {
  it.each([
    ['apps/web/src/app/page.tsx', "import { createPool } from '@aster/db';", /Only the API reaches the database/],
    ['apps/web/src/app/page.tsx', "import pg from 'pg';", /Only the API reaches the database/],
    ['apps/web/src/app/page.tsx', "import { appRouter } from '@aster/api';", /through @aster\/client/],
    ['apps/compute-agent/src/main.ts', "import { appRouter } from '@aster/api';", /not imported/],
    ['apps/compute-agent/src/main.ts', "import { migrate } from '@aster/db';", /only through its queue/],
    ['packages/agent/src/agent.ts', "import { appRouter } from '@aster/api';", /not imported/],
    ['packages/agent/src/agent.ts', "import { migrate } from '@aster/db';", /only through its queue/],
    ['apps/proxy/src/main.ts', "import { createPool } from '@aster/db';", /console tokens with its own query/],
    ['apps/proxy/src/main.ts', "import { appRouter } from '@aster/api-server';", /not imported/],
    ['packages/console-proxy/src/server.ts', "import { createPool } from '@aster/db';", /console tokens with its own query/],
    ['packages/console-proxy/src/server.ts', "import { appRouter } from '@aster/api';", /not imported/],
    ['packages/api/src/x.ts', "import { x } from '@aster/db/src/pool.ts';", /through its name and its `exports`/],
  ])('%s: %s', async (file, code, message) => {
    const found = await problems(file, `${code}\nexport const used = [${code.match(/import \{? ?(\w+)/)![1]}];\n`);
    expect(found.join('\n')).toMatch(message);
  });

  it('allows what the design allows', async () => {
    expect(await problems('apps/web/src/app/page.tsx', "import { login } from '@aster/client';\nexport const used = [login];\n")).toEqual([]);
    expect(await problems('apps/api/src/x.ts', "import { createPool } from '@aster/db';\nexport const used = [createPool];\n")).toEqual([]);
  });

  it('keeps settings in env.ts', async () => {
    expect(await problems('apps/api/src/http.ts', 'export const port = process.env.PORT;\n')).toEqual([
      expect.stringMatching(/no-restricted-properties: .*env.ts only/),
    ]);
    expect(await problems('apps/api/src/env.ts', 'export const port = process.env.PORT;\n')).toEqual([]);
  });
});
