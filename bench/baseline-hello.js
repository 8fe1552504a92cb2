'use strict';
/**
 * Baseline (a): bare node:http hello world. The ceiling for any HTTP answer on this machine.
 * Started by run.js as a child process; listens on 127.0.0.1:<ephemeral> and reports the port
 * over IPC. Exits when the parent goes away.
 */
const http = require('node:http');

const BODY = Buffer.from(JSON.stringify({ hello: 'world' }));

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 65000;

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  if (process.send) process.send({ ready: true, port: server.address().port });
  else console.log(`listening on ${server.address().port}`);
});

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
