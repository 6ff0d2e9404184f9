/** The writer thread's entry: serves the request thread through its parentPort (serve-writer.ts). */
import { parentPort } from 'node:worker_threads';
import { serveWriter } from './serve-writer.js';

if (parentPort === null) throw new Error('writer worker must run in a worker thread');
serveWriter(parentPort);
