import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsIP, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

export class AddUserDto {
  @IsString()
  @Matches(/^[A-Za-z0-9._@-]{1,64}$/)
  userId!: string;

  @IsString()
  @MinLength(8)
  @MaxLength(256)
  password!: string;

  @IsArray()
  @ArrayMaxSize(100)
  @Matches(/^[0-9A-Z]{4}$/, { each: true, message: 'each OCN is 4 digits or uppercase letters' })
  ocns!: string[];

  @IsOptional()
  @IsBoolean()
  caTokens?: boolean;
}

export class AccessPolicyDto {
  /** Source addresses allowed to call the STI-PA API; an empty list turns the allow-list off. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsIP(undefined, { each: true })
  allowList?: string[];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  rateLimitPerMinute?: number;

  @IsOptional()
  @IsBoolean()
  resetCounters?: boolean;

  /** The `message` of the 403 for a source outside the allow-list (the empty string sends none). */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  allowListMessage?: string;
}

/** Ten years either way: far enough for any lifecycle walk, near enough to stay a test switch. */
const MAX_CLOCK_OFFSET_MS = 10 * 366 * 86_400_000;

export class ClockOffsetDto {
  /** Milliseconds added to real time for everything the sandbox dates or checks. */
  @IsInt()
  @Min(-MAX_CLOCK_OFFSET_MS)
  @Max(MAX_CLOCK_OFFSET_MS)
  offsetMs!: number;
}
