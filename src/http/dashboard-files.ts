import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { sendJson } from './respond.js';

/** dashboard/ sits at the package root, like proto/: two levels above src/http and dist/http. */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** /dashboard (index.html) and /dashboard/<file>: the files shipped in the package, nothing else. */
export async function serveDashboard(res: ServerResponse, pathname: string): Promise<void> {
  const name = pathname.replace(/^\/dashboard\/?/, '') || 'index.html';
  const extension = name.split('.').pop() ?? '';
  if (!/^[a-z0-9-]+\.[a-z]+$/.test(name) || !TYPES[extension]) {
    sendJson(res, 404, { error: 'not_found', message: `no dashboard file ${name}` });
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(DASHBOARD_DIR + name);
  } catch {
    sendJson(res, 404, { error: 'not_found', message: `no dashboard file ${name}` });
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extension]!, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(body);
}
