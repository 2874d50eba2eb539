import { type DynamicModule, Global, Module } from '@nestjs/common';
import { DB_OPTIONS, type DbModuleOptions, PrismaService } from './prisma.service.js';

/** Provides PrismaService everywhere (global), connected to `url`. */
@Global()
@Module({})
export class DbModule {
  static forRoot(options: DbModuleOptions): DynamicModule {
    return {
      module: DbModule,
      providers: [{ provide: DB_OPTIONS, useValue: options }, PrismaService],
      exports: [PrismaService],
    };
  }
}
