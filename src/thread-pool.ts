import { availableParallelism } from 'node:os';

/**
 * argon2 hashes on libuv's thread pool (4 threads by default) and is bound by memory bandwidth: with
 * more hashing threads than cores they only evict each other's 19 MiB from the caches. One thread per
 * core gives more logins per second. main.ts imports this first, before anything can start the pool;
 * an explicit UV_THREADPOOL_SIZE (e.g. a container's CPU limit) wins.
 */
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()));
