import middy from '@middy/core';
import { type ItemsPage, pageLimits, type ReadItemsEvent, readItemsPage } from '../core/items.js';
import { type ConnectionPairContext, connectionPair } from '../middleware/connection-pair.js';
import { DATABASES } from '../middleware/databases.js';
import { observability } from '../middleware/observability.js';

export const handler = middy<ReadItemsEvent, ItemsPage, Error, ConnectionPairContext<'target'>>()
  .use(
    observability<ReadItemsEvent, ItemsPage>({
      step: 'ReadItems',
      loggedResult: ({ items, next }) => ({ items: items.length, next }),
    }),
  )
  .use(connectionPair({ sides: DATABASES['read-items'] }))
  .handler((event, context) => readItemsPage(event, context.connections.target, pageLimits()));
