-- AlterTable
ALTER TABLE "Generation" ADD COLUMN "adapterId" TEXT;

-- AddForeignKey
ALTER TABLE "Generation" ADD CONSTRAINT "Generation_adapterId_fkey" FOREIGN KEY ("adapterId") REFERENCES "Adapter"("id") ON DELETE SET NULL ON UPDATE CASCADE;
