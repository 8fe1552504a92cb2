import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfigFrom } from '../config/database.config';
import { loadDevelopmentEnvFile } from '../config/env-file';
import { buildDataSourceOptions } from './data-source-options';

// The TypeORM CLI entry point (npm run migration:generate|create): same options as the app, and `.env` in development only.
loadDevelopmentEnvFile(process.env);

export default new DataSource(buildDataSourceOptions(databaseConfigFrom(process.env)));
