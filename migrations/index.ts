import { CreateUsers1732500000000 } from './1732500000000-CreateUsers';
import { CreateOutboxEvents1732600000000 } from './1732600000000-CreateOutboxEvents';
import { CreateMail1732700000000 } from './1732700000000-CreateMail';
import { CreateUserIdentities1732800000000 } from './1732800000000-CreateUserIdentities';
import { SessionRevocationIndexes1734080000000 } from './1734080000000-SessionRevocationIndexes';
import { OutboxTraceContext1735100000000 } from './1735100000000-OutboxTraceContext';
import { CreateWebhookDeliveries1736150000000 } from './1736150000000-CreateWebhookDeliveries';
import { CreateMfa1736200000000 } from './1736200000000-CreateMfa';
import { CreatePasskeys1736260000000 } from './1736260000000-CreatePasskeys';
import { ListingAtScale1736300000000 } from './1736300000000-ListingAtScale';

/** Every migration, in order. Listed explicitly so that ts-jest, ts-node and the compiled app agree. */
export const MIGRATIONS = [CreateUsers1732500000000, CreateOutboxEvents1732600000000, CreateMail1732700000000, CreateUserIdentities1732800000000, SessionRevocationIndexes1734080000000, OutboxTraceContext1735100000000, CreateWebhookDeliveries1736150000000, CreateMfa1736200000000, CreatePasskeys1736260000000, ListingAtScale1736300000000];
