import { SupportedStorage } from '@supabase/auth-js';

/** In-memory storage for auth-js's GoTrueClient (Node has no localStorage). */
export function memoryStorage(): SupportedStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}
