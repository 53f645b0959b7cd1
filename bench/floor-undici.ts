/** The floor over the undici modules the project bundles (functions/core/tpns/undici.ts), one keep-alive Agent. */
import { Agent } from '../functions/core/tpns/undici.ts';
import { floorHandler, type Post } from './floor.ts';

const agent = new Agent({ keepAliveTimeout: 30_000 });

export const undiciPost: Post = async (url, headers, body) => {
  const { origin, pathname } = new URL(url);
  const response = await agent.request({ origin, path: pathname, method: 'POST', headers, body });
  return response.body.json();
};

export const handler = floorHandler(undiciPost);
