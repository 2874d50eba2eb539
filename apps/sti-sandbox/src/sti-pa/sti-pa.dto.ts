import { Type } from 'class-transformer';
import { Equals, IsBoolean, IsDefined, IsNotEmpty, IsObject, IsString, MaxLength, ValidateNested } from 'class-validator';

/** `POST /auth/login` body. */
export class LoginDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  userId!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  password!: string;
}

/** `POST /auth/refreshToken` body. */
export class RefreshTokenDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  refreshToken!: string;
}

/** The `atc` object of a token request (ATIS-1000080 v005 §5.3.1, RFC 9447 §3). */
export class AtcRequestDto {
  @Equals('TNAuthList')
  tktype!: 'TNAuthList';

  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  tkvalue!: string;

  @IsBoolean()
  ca!: boolean;

  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  fingerprint!: string;
}

/** `POST /account/{OCN}/token` body. */
export class TokenRequestDto {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => AtcRequestDto)
  atc!: AtcRequestDto;
}
