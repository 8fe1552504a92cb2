import { QueryFailedError } from 'typeorm';

/** A case-insensitive substring pattern for ILIKE, with the user's own `%`, `_` and `\` taken literally. */
export function containsPattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The constraint a unique violation (SQLSTATE 23505) hit, or undefined for any other error. */
export function uniqueViolation(error: unknown): string | undefined {
  if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505') {
    return (error.driverError as { constraint?: string }).constraint;
  }
  return undefined;
}
