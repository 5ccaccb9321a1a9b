-- CreateEnum
CREATE TYPE "HubRepoKind" AS ENUM ('MODEL', 'DATASET');

-- CreateEnum
CREATE TYPE "PullStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "HubPull" (
    "id" TEXT NOT NULL,
    "kind" "HubRepoKind" NOT NULL,
    "repo" TEXT NOT NULL,
    "revision" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "PullStatus" NOT NULL DEFAULT 'QUEUED',
    "commit" TEXT,
    "path" TEXT NOT NULL,
    "bytesDone" BIGINT NOT NULL DEFAULT 0,
    "bytesTotal" BIGINT,
    "error" TEXT,
    "modelId" TEXT,
    "datasetIds" TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "HubPull_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "HubPull_createdAt_idx" ON "HubPull"("createdAt");
