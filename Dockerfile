# syntax=docker/dockerfile:1
# Build: docker build --build-arg COMMIT=$(git rev-parse --short HEAD) --build-arg BUILD_TIME=$(date -u +%F_%T) -t users-service .
# Node.js 22 (an LTS line; Node 20 reached its end of life in April 2026). The code also runs on Node >= 20.19 (it loads the ES module jose with require()).
# Migrations from the image: docker run --rm -e USERS_DB_... users-service node dist/src/migrate.js status|run|revert

FROM node:22-bookworm-slim AS build
WORKDIR /app
# python3/make/g++ only in case argon2 has to compile (its prebuilt binary normally loads).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev && node -e "require('argon2')"

FROM node:22-bookworm-slim
ARG COMMIT=ffffffff
ARG BUILD_TIME=1970-01-01_00:00:00
# Memory: 4 MiB semi-spaces for the young generation (V8's default of 16 MiB puts the peak RSS of a
# login flood past 200 MB; under the profile read the garbage collector took 21-32 % of the app's CPU at
# 2 MiB, 16-20 % at 4 MiB, for 2-3 MB more RSS; see README "Hot paths"), and a 160 MiB old generation: V8
# otherwise lets garbage pile up far beyond the ~50 MiB that is live before it collects (raise it with
# the container's memory limit); argon2's 19 MiB work areas always mmap'ed so that they go back to the
# OS after each hash (glibc's dynamic threshold would otherwise keep one per thread); two malloc arenas
# instead of one per thread. bench/ runs with these.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=160" \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_ARENA_MAX=2 \
    USERS_BUILD_COMMIT=$COMMIT \
    USERS_BUILD_TIME=$BUILD_TIME \
    USERS_DB_DRIVER=postgres \
    USERS_HTTP_HOST=0.0.0.0 \
    USERS_HTTP_PORT=9002
WORKDIR /app
# No .env is copied: production configuration comes from the environment (USERS_SECRET_KEY is required).
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node templates ./templates
USER node
EXPOSE 9002
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.USERS_HTTP_PORT||9002)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
