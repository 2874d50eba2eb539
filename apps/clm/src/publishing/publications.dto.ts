import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsUUID } from 'class-validator';

export class ListPublicationsQueryDto {
  @ApiPropertyOptional({ description: 'true: only live publications whose last verifier check failed' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'failing must be true or false' })
  failing?: boolean;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID('all', { message: 'certificateId must be a certificate id (UUID)' })
  certificateId?: string;
}
