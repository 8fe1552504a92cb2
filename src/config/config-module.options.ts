import { ConfigModuleOptions } from '@nestjs/config';
import { adminConfig } from './admin.config';
import { appConfig } from './app.config';
import { authConfig } from './auth.config';
import { databaseConfig } from './database.config';
import { EffectiveValue, effectiveConfiguration } from './effective-config';
import { loadDevelopmentEnvFile } from './env-file';
import { eventsConfig } from './events.config';
import { applyGoTrueAliases, gotrueConfig } from './gotrue.config';
import { mailConfig } from './mail.config';
import { metricsConfig } from './metrics.config';
import { mfaConfig } from './mfa.config';
import { oauthConfig } from './oauth.config';
import { rateLimitConfig } from './rate-limit.config';
import { productionProblems, productionWarnings } from './production-rules';
import { RunMode, runMode } from './run-mode';
import { schedulerConfig } from './scheduler.config';
import { tracingConfig } from './tracing.config';
import { typoWarnings } from './typo-warnings';
import { webhooksConfig } from './webhooks.config';
import { ConfigError, knownVariables } from './validate-config';

const NAMESPACES = [appConfig, databaseConfig, authConfig, adminConfig, mailConfig, eventsConfig, schedulerConfig, oauthConfig, metricsConfig, tracingConfig, rateLimitConfig, gotrueConfig, webhooksConfig, mfaConfig];

/**
 * Every config namespace; each validates its own variables. The `.env` file is read by
 * loadConfiguration (in development only), never by ConfigModule.
 */
export const configModuleOptions: ConfigModuleOptions = {
  isGlobal: true,
  ignoreEnvFile: true,
  load: NAMESPACES,
};

export interface LoadedConfiguration {
  mode: RunMode;
  /** Ignored variables that look like typos, development leftovers: for the log. */
  warnings: string[];
  /** Every variable's value (secrets masked) and source, for the one startup line. */
  effective: Record<string, EffectiveValue>;
}

/** A namespace's ConfigError, or a plain Error in the same `Invalid configuration:\n  …` form, as its lines; anything else is rethrown. */
export function problemsOf(error: unknown): string[] {
  if (error instanceof ConfigError) return error.problems;
  const message = error instanceof Error ? error.message : '';
  if (!message.startsWith('Invalid configuration:')) throw error;
  return message.split('\n').slice(1).map((line) => line.trim()).filter(Boolean);
}

/**
 * Reads `.env` (development only), validates every namespace and, in production, refuses the
 * development defaults. Throws one ConfigError naming every bad variable of every namespace at once,
 * before Nest logs anything.
 */
export function loadConfiguration(cwd = process.cwd()): LoadedConfiguration {
  loadDevelopmentEnvFile(process.env, cwd);
  const mode = runMode();
  const problems: string[] = [];
  try {
    applyGoTrueAliases(process.env);
  } catch (error) {
    problems.push(...problemsOf(error));
  }
  for (const namespace of NAMESPACES) {
    try {
      namespace();
    } catch (error) {
      problems.push(...problemsOf(error));
    }
  }
  if (mode === 'production') problems.push(...productionProblems(process.env));
  if (problems.length > 0) throw new ConfigError(problems);
  const known = knownVariables();
  return {
    mode,
    warnings: [...typoWarnings(process.env, new Set(known.keys())), ...(mode === 'production' ? productionWarnings(process.env, cwd) : [])],
    effective: effectiveConfiguration(process.env, known),
  };
}
