-- The OpenAI-compatible /v1 face: uploaded files are Datasets (their original name and size), fine-tuning jobs are
-- TrainingRuns (a model-name suffix and a validation file).

-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN "filename" TEXT,
ADD COLUMN "bytes" BIGINT;

-- AlterTable
ALTER TABLE "TrainingRun" ADD COLUMN "suffix" TEXT,
ADD COLUMN "validationDatasetId" TEXT;

-- CreateIndex
CREATE INDEX "TrainingRun_baseModelId_suffix_idx" ON "TrainingRun"("baseModelId", "suffix");

-- AddForeignKey
ALTER TABLE "TrainingRun" ADD CONSTRAINT "TrainingRun_validationDatasetId_fkey" FOREIGN KEY ("validationDatasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
