/**
 * The custom Podium protocol (docs/protocol.md). Its types and constants are generated from the
 * backend's pydantic models (backend/podium/protocol/models.py) into protocol.generated.ts by
 * `npm run gen:protocol`; the rest of the client imports them from here. Types and constants
 * only, no runtime dependencies: the webview bundle and the unit tests import it too.
 */
export * from './protocol.generated';

/** A request method's params and result, e.g. `Result<'podium/listAgents'>`. */
import type { PodiumProtocol } from './protocol.generated';

export type RequestMethod = keyof PodiumProtocol['requests'];
export type Params<M extends RequestMethod> = PodiumProtocol['requests'][M]['params'];
export type Result<M extends RequestMethod> = PodiumProtocol['requests'][M]['result'];
export type NotificationMethod = keyof PodiumProtocol['notifications'];
export type NotificationParams<M extends NotificationMethod> = PodiumProtocol['notifications'][M];
