# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

# Runtime stage: only the compiled output and production dependencies, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The shipped learned model, served with models.scorer = learned when no registry is configured.
COPY --from=build /app/models/default ./models/default
COPY --from=build /app/package.json ./
RUN mkdir -p /var/lib/nudge && chown node:node /var/lib/nudge
USER node
ENV NUDGE_STATE_DIR=/var/lib/nudge
VOLUME ["/var/lib/nudge"]
EXPOSE 8080
# The slim image has no curl: Node's own fetch asks the liveness endpoint.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.NUDGE_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 here and handles SIGTERM itself: stop fetching, commit, close stores, leave the group.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["run"]
