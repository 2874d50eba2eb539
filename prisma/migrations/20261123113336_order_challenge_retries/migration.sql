-- AlterTable
ALTER TABLE "certificate_orders" ADD COLUMN     "challenge_retries" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "fresh_token_needed" BOOLEAN NOT NULL DEFAULT false;
