import { AuthChangeEvent, GoTrueClient, SupportedStorage } from '@supabase/auth-js';

/** In-memory storage for @supabase/auth-js (Node has no localStorage). */
export function memoryStorage(): SupportedStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

/** An auth-js client of the GoTrue API at `api`/auth/v1, as a frontend makes one, and the events its onAuthStateChange reported. */
export function newClient(api: string, headers: Record<string, string> = {}, flowType: 'implicit' | 'pkce' = 'implicit') {
  const client = new GoTrueClient({ url: `${api}/auth/v1`, headers, flowType, storage: memoryStorage(), autoRefreshToken: false, persistSession: true, detectSessionInUrl: false });
  const events: AuthChangeEvent[] = [];
  client.onAuthStateChange((event) => void events.push(event));
  return { client, events };
}
