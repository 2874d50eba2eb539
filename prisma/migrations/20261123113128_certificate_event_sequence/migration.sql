-- AlterTable
ALTER TABLE "certificate_events" ADD COLUMN     "seq" BIGSERIAL NOT NULL;
