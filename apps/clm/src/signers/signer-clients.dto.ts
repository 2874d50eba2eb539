import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsString, Length, Matches } from 'class-validator';
import { OCN_PATTERN } from '../onboarding/identifiers.js';

const OCN_MESSAGE = 'each OCN must be 4 characters, digits and uppercase letters (e.g. 818H)';

export class CreateSignerDto {
  @ApiProperty({ example: 'sbc-east-1', description: 'the signing service (SBC, STI-AS) this credential is for' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[\w .@:-]+$/, { message: 'name may contain letters, digits, space and . _ @ : -' })
  name!: string;

  @ApiProperty({ example: ['818H'], description: 'OCNs whose active key and x5u this signer may pull; each must be onboarded' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  @ArrayUnique()
  @Matches(OCN_PATTERN, { each: true, message: OCN_MESSAGE })
  ocns!: string[];
}

export class PutSignerOcnsDto {
  @ApiProperty({ example: ['818H', '709J'], description: 'the complete new scope (replaces the old one)' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  @ArrayUnique()
  @Matches(OCN_PATTERN, { each: true, message: OCN_MESSAGE })
  ocns!: string[];
}
