/** The floor over Node's global fetch (bench/floor.ts). */
import { floorHandler, type Post } from './floor.ts';

export const fetchPost: Post = async (url, headers, body) => (await fetch(url, { method: 'POST', headers, body })).json();

export const handler = floorHandler(fetchPost);
