import { AppError } from '../common/errors/app-error';
import { SealedBox, UnopenableBoxError } from '../common/utils/sealed-box';

/** Which listing a cursor belongs to: a cursor of one is refused by the other. */
export type CursorScope = 'list' | 'search';

/** A row's place in its order: the sort key as PostgreSQL prints it (null for a user without one) and the id that breaks ties. */
export interface CursorPosition {
  key: string | null;
  id: string;
}

interface CursorPayload {
  /** scope */
  s: CursorScope;
  /** order */
  o: string;
  /** dir */
  d: 'asc' | 'desc';
  k: string | null;
  i: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function refused(problem: string): AppError {
  return new AppError('VALIDATION_FAILED', `cursor ${problem}`, [{ field: 'cursor', problem }]);
}

/**
 * Opaque keyset cursors: the last row's sort key and id, with the order and the listing they were
 * made for, sealed (AES-256-GCM under a key derived from USERS_SECRET_KEY), so that a client can
 * neither read nor forge one, and the sort key reaches SQL only as a value this service wrote. The key
 * is kept as PostgreSQL's text: a timestamptz as a JS Date would lose its microseconds and skip or
 * repeat rows created in the same millisecond. A cursor that does not open, or was made for another
 * listing or order, is a 400 VALIDATION_FAILED.
 */
export class ListCursors {
  private readonly box: SealedBox;

  constructor(secret: string, previousSecret?: string) {
    this.box = new SealedBox(secret, 'users-list-cursor', previousSecret);
  }

  encode(scope: CursorScope, order: string, dir: 'asc' | 'desc', position: CursorPosition): string {
    const payload: CursorPayload = { s: scope, o: order, d: dir, k: position.key, i: position.id };
    return this.box.seal(JSON.stringify(payload)).toString('base64url');
  }

  decode(cursor: string, scope: CursorScope, order: string, dir: 'asc' | 'desc'): CursorPosition {
    let payload: CursorPayload;
    try {
      payload = JSON.parse(this.box.open(Buffer.from(cursor, 'base64url'))) as CursorPayload;
    } catch (error) {
      if (error instanceof UnopenableBoxError || error instanceof SyntaxError) throw refused('is not a cursor this service issued');
      throw error;
    }
    if (payload?.s !== scope) throw refused(`was issued for ${payload?.s === 'search' ? 'GET /users/search' : 'GET /users'}`);
    if (payload.o !== order || payload.d !== dir) throw refused(`was issued for order=${payload.o}&dir=${payload.d}: keep the order of the page it came from`);
    if (typeof payload.i !== 'string' || !UUID.test(payload.i) || !(payload.k === null || typeof payload.k === 'string')) throw refused('is not a cursor this service issued');
    return { key: payload.k, id: payload.i };
  }
}
