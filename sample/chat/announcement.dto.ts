import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';

/** An admin announcement; ValidationPipe refuses anything else with the messages below. */
export class AnnouncementDto {
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  text!: string;

  @IsIn(['info', 'warning'])
  level!: 'info' | 'warning';
}
