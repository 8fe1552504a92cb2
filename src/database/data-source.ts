import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { databaseConfigFrom } from '../config/database.config';
import { buildDataSourceOptions } from './data-source-options';

// The TypeORM CLI entry point (npm run migration:*): same options as the app, same .env.
if (existsSync('.env')) process.loadEnvFile('.env');

export default new DataSource(buildDataSourceOptions(databaseConfigFrom(process.env)));
