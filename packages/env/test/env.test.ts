import { describe, expect, it } from 'vitest';
import { EnvError, flag, port, readEnv, z } from '../src/index.ts';

const schema = z.object({ ASTER_API_PORT: port(8774), ASTER_DEBUG: flag(false), NAME: z.string().default('aster') });

describe('settings', () => {
  it('take defaults, treating empty values as unset', () => {
    expect(readEnv(schema, { ASTER_API_PORT: '', UNRELATED: 'x' })).toEqual({ ASTER_API_PORT: 8774, ASTER_DEBUG: false, NAME: 'aster' });
  });

  it('parse what is given', () => {
    expect(readEnv(schema, { ASTER_API_PORT: '9000', ASTER_DEBUG: 'yes', NAME: 'n' })).toEqual({ ASTER_API_PORT: 9000, ASTER_DEBUG: true, NAME: 'n' });
  });

  it('name the variable and the bad value', () => {
    const error = (() => {
      try {
        readEnv(schema, { ASTER_API_PORT: 'eighty', ASTER_DEBUG: 'maybe' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EnvError);
    const message = (error as Error).message;
    expect(message).toContain('ASTER_API_PORT: must be a port number (got "eighty")');
    expect(message).toContain('ASTER_DEBUG: must be one of 0, 1, true, false, yes, no (got "maybe")');
    expect(() => readEnv(schema, { ASTER_API_PORT: '70000' })).toThrow(/ASTER_API_PORT: must be a port number from 1 to 65535 \(got "70000"\)/);
  });
});
