import { IsString, MaxLength } from 'class-validator';

/** The body of `POST /api/auth/login`. */
export class LoginDto {
  @IsString()
  @MaxLength(100)
  username!: string;

  @IsString()
  @MaxLength(100)
  password!: string;
}
