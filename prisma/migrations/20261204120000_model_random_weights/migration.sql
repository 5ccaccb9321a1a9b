-- A base model written with random weights by initModel (the demo, `tunegraph init-model`): its replies are noise
ALTER TABLE "BaseModel" ADD COLUMN "randomWeights" BOOLEAN NOT NULL DEFAULT false;
-- the demo model is always random-weight (services/demo.ts); other earlier initModel rows cannot be told apart
UPDATE "BaseModel" SET "randomWeights" = true WHERE "name" = 'demo-tiny';
