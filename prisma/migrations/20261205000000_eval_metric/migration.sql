-- A run's evaluations (eval_loss on its eval set, every evalSteps and at the end)
CREATE TABLE "EvalMetric" (
    "runId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "evalLoss" DOUBLE PRECISION NOT NULL,
    "evalTokens" INTEGER NOT NULL,
    "evalRuntime" DOUBLE PRECISION NOT NULL,
    "evalSamplesPerSecond" DOUBLE PRECISION NOT NULL,
    "epoch" DOUBLE PRECISION NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EvalMetric_pkey" PRIMARY KEY ("runId","step")
);

ALTER TABLE "EvalMetric" ADD CONSTRAINT "EvalMetric_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TrainingRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;
