import { ConfigError } from '../../src/config/validate-config';

/**
 * A config namespace run against exactly `env` (process.env is replaced, and put back after each
 * test): `configWith` gives its value, `problemsWith` the problems it names (it must refuse `env`).
 */
export function namespaceUnderEnv<T>(namespace: () => T) {
  const originalEnv = process.env;
  afterEach(() => {
    process.env = originalEnv;
  });
  const configWith = (env: Record<string, string>): T => {
    process.env = { ...env };
    return namespace();
  };
  const problemsWith = (env: Record<string, string>): string[] => {
    try {
      configWith(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error('the configuration was accepted');
  };
  return { configWith, problemsWith };
}
