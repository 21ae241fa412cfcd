# Rollcall container image. TypeScript runs through tsx (a runtime dependency), so there is no
# compile step: one stage installs production dependencies, the final stage adds the sources.
#   docker build -t rollcall:0.1.0 .
#   docker run -e DATABASE_URL=postgres://… -e ROLLCALL_ADMIN_KEY=… -p 8080:8080 rollcall:0.1.0
# The chart runs the same image as `serve`, `reconcile` and `migrate`.

ARG NODE_IMAGE=node:20-bookworm-slim

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
# Everything stays owned by root and read-only to the app user; only /tmp (tsx's compile cache)
# needs to be writable, which the chart provides as an emptyDir.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY server ./server
COPY reconciler ./reconciler
COPY mapping ./mapping
COPY migrations ./migrations
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx", "server/cli.ts"]
CMD ["serve"]
