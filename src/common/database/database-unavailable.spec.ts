import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-unavailable';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('recognises refused and cut connections, a server stopping or starting, and connection exceptions', () => {
    expect(isDatabaseUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('connection failure', '08006'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it('recognises a server that refuses the session or lacks the resources for it', () => {
    const fatal = (message: string, code: string) => Object.assign(withCode(message, code), { severity: 'FATAL' });
    expect(isDatabaseUnavailable(fatal('database "users" is not currently accepting connections', '55000'))).toBe(true);
    expect(isDatabaseUnavailable(fatal('sorry, too many clients already', '53300'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('could not extend file: No space left on device', '53100'))).toBe(true);
    // The same SQLSTATE as an ordinary ERROR of one statement is a fault of that statement.
    expect(isDatabaseUnavailable(Object.assign(withCode('cannot do this now', '55000'), { severity: 'ERROR' }))).toBe(false);
  });

  it('looks inside TypeORM wrappers and happy-eyeballs aggregates', () => {
    const driverError = withCode('terminating connection due to administrator command', '57P01');
    expect(isDatabaseUnavailable(new QueryFailedError('INSERT …', [], driverError))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), { name: 'QueryRunnerAlreadyReleasedError' }))).toBe(true);
  });

  it('leaves real faults and refusals alone', () => {
    expect(isDatabaseUnavailable(new QueryFailedError('INSERT …', [], withCode('duplicate key value violates unique constraint', '23505')))).toBe(false);
    expect(isDatabaseUnavailable(withCode('syntax error at or near "SELEC"', '42601'))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
