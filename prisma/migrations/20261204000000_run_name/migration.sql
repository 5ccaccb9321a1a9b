-- A run's display name (not unique: runs are told apart by id)
ALTER TABLE "TrainingRun" ADD COLUMN "name" TEXT;
