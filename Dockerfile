# Rollcall container image. TypeScript is compiled once at build time (`npm run build` → dist/);
# the image runs plain JavaScript: no TypeScript transpiler at run time, nothing written to disk
# (the root filesystem can be read-only with no writable /tmp).
#   docker build -t rollcall:0.1.0 .
#   docker run -e DATABASE_URL=postgres://… -e ROLLCALL_ADMIN_KEY=… -p 8080:8080 rollcall:0.1.0
# The chart runs the same image as `serve`, `dispatch`, `reconcile` and `migrate`.

ARG NODE_IMAGE=node:20-bookworm-slim

# Compiles the sources with the dev dependencies (typescript); only dist/ leaves this stage.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY server ./server
COPY reconciler ./reconciler
COPY mapping ./mapping
COPY migrations ./migrations
RUN npm run build

# Production dependencies only: tsx and typescript are dev dependencies and are not in the image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080
RUN groupadd --gid 10001 rollcall \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin rollcall
WORKDIR /app
# Everything stays owned by root and read-only to the app user.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "dist/server/cli.js"]
CMD ["serve"]
