# The engine's image: one binary, every role (ROLES selects a subset).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
USER node
EXPOSE 4000
CMD ["node", "--import", "tsx", "src/api/main.ts"]
