// The provider of each cloud: the only code that knows the clouds' group shapes.
import type { Cloud } from '../model/policy.js';
import { alibabaProvider } from './alibaba/parse.js';
import { awsProvider } from './aws/parse.js';
import type { Provider } from './types.js';

export function providerFor(cloud: Cloud): Provider {
  return cloud === 'alibaba' ? alibabaProvider : awsProvider;
}

/** The key that holds a group's id in the cloud's shape (for messages). */
export function groupIdKey(cloud: Cloud): string {
  return cloud === 'alibaba' ? 'SecurityGroupId' : 'GroupId';
}

export type { PortList, PrefixList, Provider, ProviderContext } from './types.js';
